"""Amounts of money: yuan to the cent, rounded half up as the till and the bills do."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(value) -> Decimal:
    """`value` rounded half up to the cent (None counts as 0)."""
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)
