"""Validation and normalisation of the identifiers a front desk types all day.

Each `normalize_*` returns the canonical stored form; each `validate_*` raises a
ValidationError whose message tells the person what is wrong.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# ISO 3779 / GB 16735: letters I, O and Q are never used in a VIN.
_VIN_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


def normalize_vin(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "").upper()


def vin_check_digit(vin: str) -> str:
    total = sum(_VIN_TRANSLITERATION[ch] * w for ch, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def validate_vin(value: str) -> None:
    vin = normalize_vin(value)
    if len(vin) != 17:
        raise ValidationError(
            _("A VIN has 17 characters; this one has %(count)d."),
            code="vin_length",
            params={"count": len(vin)},
        )
    if not _VIN_RE.match(vin):
        raise ValidationError(
            _("A VIN uses only digits and capital letters, never I, O or Q."), code="vin_chars"
        )
    expected = vin_check_digit(vin)
    if vin[8] != expected:
        raise ValidationError(
            _(
                "The check digit (9th character) does not match: expected %(expected)s. "
                "Re-read the VIN."
            ),
            code="vin_check_digit",
            params={"expected": expected},
        )


PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # plate letters: I and O are not used
_PLATE_RES = (
    # ordinary 7-character plate, with optional special last character
    re.compile(rf"^[{PROVINCES}][{_L}][{_L}0-9]{{4}}[{_L}0-9挂学警港澳领试超]$"),
    # small new-energy plate: D (battery electric) or F (other) then 5 characters
    re.compile(rf"^[{PROVINCES}][{_L}][DF][{_L}0-9][0-9]{{4}}$"),
    # large new-energy plate: 5 digits then D or F
    re.compile(rf"^[{PROVINCES}][{_L}][0-9]{{5}}[DF]$"),
    # embassy and consulate plates
    re.compile(r"^使[0-9]{6}$"),
    re.compile(rf"^[{PROVINCES}][{_L}][0-9]{{4}}领$"),
)


def normalize_plate(value: str) -> str:
    return re.sub(r"[\s·•.\-]", "", value or "").upper()


def validate_plate(value: str) -> None:
    plate = normalize_plate(value)
    if not any(regex.match(plate) for regex in _PLATE_RES):
        raise ValidationError(
            _(
                "Not a valid Chinese plate. Expected e.g. 京A12345, or 粤BD12345 for a "
                "new-energy vehicle."
            ),
            code="plate_format",
        )


_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")


def normalize_phone(value: str) -> str:
    digits = re.sub(r"[\s\-()]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def validate_mobile(value: str) -> None:
    if not _MOBILE_RE.match(normalize_phone(value)):
        raise ValidationError(
            _("A mobile number has 11 digits and starts with 13–19, e.g. 13812345678."),
            code="mobile_format",
        )


# GB 32100-2015: the unified social credit code (统一社会信用代码) on a company's licence,
# the buyer's tax number on an official invoice. 31 characters: no I, O, S, V or Z.
_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(rf"^[{_USCC_CHARSET}]{{18}}$")


def normalize_tax_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "").upper()


def tax_number_check_character(code: str) -> str:
    weighted = zip(code[:17], _USCC_WEIGHTS, strict=True)
    total = sum(_USCC_CHARSET.index(ch) * weight for ch, weight in weighted)
    return _USCC_CHARSET[-total % 31]


def validate_tax_number(value: str) -> None:
    code = normalize_tax_number(value)
    if len(code) != 18:
        raise ValidationError(
            _("A tax number has 18 characters; this one has %(count)d."),
            code="tax_number_length",
            params={"count": len(code)},
        )
    if not _USCC_RE.match(code):
        raise ValidationError(
            _(
                "A tax number uses only digits and capital letters, never I, O, S, V or Z. "
                "Copy it from the business licence."
            ),
            code="tax_number_chars",
        )
    if code[17] != tax_number_check_character(code):
        raise ValidationError(
            _(
                "The last character of the tax number does not match the others: a character "
                "was mistyped. Copy it again from the business licence."
            ),
            code="tax_number_check_character",
        )
