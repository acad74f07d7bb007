"""Personal data kept out of logs: masking helpers and the logging filter.

Free of Django imports on purpose: settings.LOGGING loads `PersonalDataFilter` while
Django configures logging, before the apps are ready.
"""

import logging
import re

_MOBILE = re.compile(r"(?<!\d)(\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# A signed customer link's token (django.core.signing: payload:timestamp:signature). Whoever
# reads it can open the customer's page, so it is a credential, not a log detail.
_SIGNED_TOKEN = re.compile(
    r"([A-Za-z0-9_-]{6})[A-Za-z0-9_-]{10,}:[A-Za-z0-9_-]{4,}:[A-Za-z0-9_-]{20,}"
)
_ADDRESS = re.compile(r"((?:address|addr|地址)\s*[=:：]\s*)(\"[^\"]*\"|'[^']*'|[^,;\n]+)", re.I)


def mask_phone(value) -> str:
    """A mobile number with its middle four digits hidden: 138****5678."""
    text = "" if value is None else str(value)
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****" if digits else text


def mask_openid(value) -> str:
    """A WeChat openid as logs and pages show it: its first and last four characters."""
    text = "" if value is None else str(value)
    if not text:
        return ""
    return f"{text[:4]}…{text[-4:]}" if len(text) > 8 else "…"


def mask_plate(value) -> str:
    """A plate with its middle hidden, for screens strangers see: 苏E12345 → 苏E·***45.

    The province and city letter stay (the owner recognises them, a stranger learns little)
    and the last two characters; a VIN (a car without a plate yet) keeps its last two only.
    """
    text = re.sub(r"[\s·•.\-]", "", "" if value is None else str(value)).upper()
    if len(text) < 5:
        return "***" if text else ""
    if len(text) == 17:  # a VIN
        return f"***{text[-2:]}"
    return f"{text[:2]}·***{text[-2:]}"


def mask_personal_data(text: str) -> str:
    """Mobile numbers, ID-card numbers, e-mail addresses, `address=` values and signed link
    tokens masked."""
    text = _SIGNED_TOKEN.sub(r"\1…", text)
    text = _ID_CARD.sub(r"\1********\2", text)
    text = _MOBILE.sub(lambda m: f"{m.group(2)}****{m.group(4)}", text)
    text = _EMAIL.sub(r"\1***@\2", text)
    return _ADDRESS.sub(r"\1***", text)


class PersonalDataFilter(logging.Filter):
    """Masks personal data in the formatted message (and the exception text) of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logged as it is
            return True
        record.msg = mask_personal_data(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        return True
