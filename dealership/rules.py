"""Every rule with a number (DOMAIN.md) is a store setting with a default.

Apps register their rules here with `register(...)`; the service manager
overrides them on the settings page (stored in `StoreRule`). Read with
`rule("appointments.reminder_hours")`.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import StoreRule


def _cache_key() -> str:
    # The database's name too: another database sharing the cache (a test or bench database
    # beside the real one) has rules of its own.
    return f"store-rules:v1:{settings.DATABASES['default']['NAME']}"


@dataclass(frozen=True)
class Rule:
    key: str
    default: Any
    label: str | Promise
    unit: str | Promise = ""
    # Refuses a value the rule cannot use (raises ValidationError with the message to show).
    check: Callable[[Any], None] | None = None
    # Bounds a number must keep (None: only "zero or more" is checked).
    minimum: Any = None
    maximum: Any = None


REGISTRY: dict[str, Rule] = {}


def register(
    key: str, default: Any, label, unit="", *, check=None, minimum=None, maximum=None
) -> Rule:
    item = Rule(
        key=key,
        default=default,
        label=label,
        unit=unit,
        check=check,
        minimum=minimum,
        maximum=maximum,
    )
    REGISTRY[key] = item
    return item


class _Pin:
    """The overrides of one block of work, read at its first use (None until then)."""

    values: dict[str, Any] | None = None


# The overrides read once for a block of work (`rules_pinned`), in this thread only.
_pinned: ContextVar[_Pin | None] = ContextVar("pinned_rules", default=None)


@contextmanager
def rules_pinned() -> Iterator[None]:
    """Read the store's rules once for the block, at their first use, not at every use (a
    worker's batch of reminders reads three per message; a request, up to five). A change
    saved meanwhile applies from the next block."""
    token = _pinned.set(_Pin())
    try:
        yield
    finally:
        _pinned.reset(token)


class RulesPinnedMiddleware:
    """Each request reads the store's rules once (one cache read), and all of its parts
    use the same values."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with rules_pinned():
            return self.get_response(request)


def _overrides() -> dict[str, Any]:
    pin = _pinned.get()
    if pin is not None and pin.values is not None:
        return pin.values
    values = cache.get(_cache_key())
    if values is None:
        values = dict(StoreRule.objects.values_list("key", "value"))
        cache.set(_cache_key(), values, 300)
    if pin is not None:
        pin.values = values
    return values


def rule(key: str) -> Any:
    """The store's value of a registered rule (its override, else its default)."""
    item = REGISTRY[key]
    value = _overrides().get(key, item.default)
    if isinstance(item.default, Decimal):
        return Decimal(str(value))
    return value


def rule_set(key: str, value: Any) -> None:
    item = REGISTRY[key]
    if (item.minimum is not None and value < item.minimum) or (
        item.maximum is not None and value > item.maximum
    ):
        raise ValueError(f"{key}: {value} is outside {item.minimum}..{item.maximum}")
    stored = str(value) if isinstance(item.default, Decimal) else value
    StoreRule.objects.update_or_create(key=key, defaults={"value": stored})
    cache.delete(_cache_key())


def forget_cached_rules() -> None:
    cache.delete(_cache_key())


register("store.name", "星辰汽车4S店", _("Store name"))
register("store.phone", "0512-6688 9900", _("Store phone (shown to customers)"))
register("store.address", "苏州市工业园区星湖街 88 号", _("Store address (shown to customers)"))
register("store.vat_rate", Decimal("0.13"), _("VAT rate"))
register("search.min_chars", 2, _("Characters needed before search runs"), _("characters"))
# API tokens (issue 18.2): how long a newly issued token lives.
register("api.token_days", 90, _("API token lifetime"), _("days"), minimum=1, maximum=3650)
