"""Amounts of money: yuan to the cent, rounded half up as the till and the bills do.

Every amount of money the product rounds goes through `cents`; every payment,
refund and deposit names its method from `PaymentMethod`.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .errors import DomainError

CENT = Decimal("0.01")


def cents(value) -> Decimal:
    """`value` rounded half up to the cent (None counts as 0)."""
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


MAX_AMOUNT = Decimal("10000000000")  # what a 12-digit money column holds


def to_money(value: Any, *, field: str) -> Decimal:
    """What a person typed as an amount, in yuan with at most two decimals; else a refusal
    by `field`. Floats are a programming error."""
    if isinstance(value, float):
        raise TypeError("money amounts are Decimal (or str), never float")
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("¥", ""))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(gettext("Enter an amount in yuan, e.g. 128.50."), field=field) from exc
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise DomainError(gettext("Enter an amount in yuan, e.g. 128.50."), field=field)
    if amount != cents(amount):
        raise DomainError(
            gettext("Enter an amount in yuan with at most two decimals."), field=field
        )
    return cents(amount)


def yuan(amount: Decimal) -> str:
    """¥1,545.60: an amount as the bills and messages show it."""
    return f"¥{amount:,.2f}"


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    CARD = "card", _("Bank card")
    ALIPAY = "alipay", _("Alipay")
    WECHAT = "wechat", _("WeChat Pay")
    TRANSFER = "transfer", _("Company transfer")
