from django.core.exceptions import ValidationError


class DomainError(ValidationError):
    """A refused business action. The message tells the person what to do instead.

    It is a ValidationError, so forms can show it next to the field it names
    (`field=`), or at the top of the form when it names none.
    """

    def __init__(self, message, *, field: str | None = None, code: str | None = None, params=None):
        if field:
            super().__init__({field: [ValidationError(message, code=code, params=params)]})
        else:
            super().__init__(message, code=code, params=params)
        self.field = field
