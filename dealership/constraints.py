"""A database constraint that loses a race ends in the domain's message.

Two people can pass a service's own check at the same moment (two advisors taking key tag
K1); then either Django's `full_clean` (its `validate_constraints` sees the other's row,
committed in between) or the database (it refuses the second write) stops the second one.
Both would show the constraint's raw name (“Constraint “reception_visit_key_tag_unique_on_site”
is violated”). Each app names its message for its constraints with `constraint_message`, and
a service wraps the validation and the write in `domain_constraints(instance)`:

    constraint_message("reception_visit_key_tag_unique_on_site", field="key_tag",
                       message=lambda visit: _("Key tag %(tag)s was just taken.") % ...)
    with domain_constraints(visit):
        visit.full_clean()
        visit.save()

The write runs in a savepoint, so the surrounding transaction stays usable after a refusal.
"""

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .errors import DomainError


@dataclass(frozen=True)
class _Message:
    message: Callable[[object], str]
    field: str | None
    code: str


MESSAGES: dict[str, _Message] = {}


def constraint_message(
    name: str, *, message: Callable[[object], str], field: str | None = None, code: str = ""
) -> None:
    """Say what the person is told when constraint `name` refuses a write."""
    MESSAGES[name] = _Message(message=message, field=field, code=code or name)


def constraint_name(error: Exception) -> str | None:
    """The name of the constraint behind an IntegrityError or a constraint ValidationError."""
    if isinstance(error, IntegrityError):
        diag = getattr(error.__cause__, "diag", None)
        name = getattr(diag, "constraint_name", None)
        if name:
            return name
        texts = [str(error)]
    elif isinstance(error, ValidationError):
        texts = [str(message) for message in error.messages]
    else:
        return None
    return next((name for name in MESSAGES if any(name in text for text in texts)), None)


def domain_error(error: Exception, instance=None) -> DomainError | None:
    """The domain's DomainError for a constraint's refusal, or None when none is named."""
    if isinstance(error, DomainError):
        return None
    name = constraint_name(error)
    spec = MESSAGES.get(name) if name else None
    if spec is None:
        return None
    return DomainError(spec.message(instance), field=spec.field, code=spec.code)


@contextmanager
def domain_constraints(instance=None):
    """Run validation and writes; a named constraint's refusal becomes its DomainError."""
    try:
        with transaction.atomic():
            yield
    except (IntegrityError, ValidationError) as exc:
        error = domain_error(exc, instance)
        if error is None:
            raise
        raise error from exc
