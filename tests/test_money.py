"""Money in one place (issue 16 item 8): one rounding, one estimate tolerance."""

from decimal import Decimal

from dealership.money import cents
from workorders.models import WorkOrderLine
from workshop.models import AdditionLine

D = Decimal


def test_an_addition_line_and_its_order_line_agree_to_the_cent_on_a_half_cent():
    # 1.5 l of brake fluid at ¥12.35: 18.525 by hand, rounded half up to ¥18.53
    # (half-even, as the addition line did, gave ¥18.52 against the order's ¥18.53).
    addition = AdditionLine(quantity=D("1.5"), unit_price=D("12.35"))
    order_line = WorkOrderLine(quantity=D("1.5"), unit_price=D("12.35"), discount_percent=0)
    assert addition.amount == order_line.amount == D("18.53")
    assert cents(D("0.125")) == D("0.13")
