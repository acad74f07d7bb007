from datetime import timedelta

from django.utils import timezone

from dealership.tests.factories import LabourOperationFactory, PartFactory
from reception.services import damage_mark_add, visit_walkaround_sign
from reception.tests.factories import WalkedAroundVisitFactory, signature_data_url
from workorders.services import work_order_line_add, work_order_start, work_order_update


def ready_to_sign_order(*, advisor, operations=None, parts=None):
    """A draft order with a signed walk-around, a brake job and its pads, terms set."""
    visit = WalkedAroundVisitFactory(advisor=advisor)
    damage_mark_add(visit=visit, actor=advisor, kind="scratch", x=20, y=30, note="后保险杠")
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature_data_url(), signer_name="陈静"
    )
    order = work_order_start(visit=visit, actor=advisor)
    for op in operations or [
        LabourOperationFactory(name_zh="更换前制动片", standard_hours="1.00", price="200.00")
    ]:
        work_order_line_add(order=order, actor=advisor, kind="labour", operation=op)
    for part in parts or [PartFactory(name_zh="前制动片组", price="520.00")]:
        work_order_line_add(order=order, actor=advisor, kind="part", part=part, quantity=1)
    work_order_update(
        order=order,
        actor=advisor,
        payment_method="wechat",
        promised_at=timezone.now() + timedelta(hours=3),
        promised_reason="客户要求",
    )
    order.refresh_from_db()
    return order


CONFIRMED = {
    "confirm_items": True,
    "confirm_cost": True,
    "confirm_time": True,
    "keep_old_parts": False,
    "wash": True,
}
