"""The customer's signature on the demo's papers, and the advisor's last step on an order."""

import base64
import io
from datetime import datetime

from PIL import Image, ImageDraw

from dealership.models import User
from workorders.models import WorkOrder
from workorders.services import work_order_sign, work_order_update


def signature() -> str:
    """A hand-drawn-looking signature as the signing pad sends it (a PNG data URL)."""
    image = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(20, 80), (90, 30), (160, 85), (270, 40)], fill="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def order_promise_and_sign(
    order: WorkOrder,
    *,
    advisor: User,
    signer_name: str,
    promised_at: datetime,
    promised_reason: str,
    keep_old_parts: bool,
    wash: bool,
) -> None:
    """The customer pays by WeChat, is promised a time and signs every confirmation."""
    work_order_update(
        order=order,
        actor=advisor,
        payment_method="wechat",
        promised_at=promised_at,
        promised_reason=promised_reason,
    )
    work_order_sign(
        order=order,
        actor=advisor,
        signature=signature(),
        signer_name=signer_name,
        confirm_items=True,
        confirm_cost=True,
        confirm_time=True,
        keep_old_parts=keep_old_parts,
        wash=wash,
    )
