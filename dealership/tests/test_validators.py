import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from dealership.validators import (
    normalize_phone,
    normalize_plate,
    normalize_tax_number,
    tax_number_check_character,
    validate_mobile,
    validate_plate,
    validate_tax_number,
    validate_vin,
    vin_check_digit,
)


@pytest.mark.parametrize(
    "vin",
    [
        "1M8GDM9AXKP042788",  # the textbook example, check digit X
        "11111111111111111",  # all ones: check digit 1
    ],
)
def test_valid_vins_pass(vin):
    validate_vin(vin)


def test_vin_with_spaces_and_lowercase_is_normalised_before_checking():
    validate_vin("1m8gdm9axk p042788")


@pytest.mark.parametrize(
    ("vin", "code", "fragment"),
    [
        ("1M8GDM9A1KP042788", "vin_check_digit", "expected X"),
        ("1M8GDM9AXKP04278", "vin_length", "this one has 16"),
        ("1M8GDM9AXKP0427881", "vin_length", "this one has 18"),
        ("IM8GDM9AXKP042788", "vin_chars", "never I, O or Q"),
        ("", "vin_length", "this one has 0"),
    ],
)
def test_invalid_vins_are_refused_with_a_reason(vin, code, fragment):
    with pytest.raises(ValidationError) as info:
        validate_vin(vin)
    assert info.value.code == code
    with translation.override("en"):
        assert fragment in " ".join(info.value.messages)


def test_check_digit_matches_iso_3779_example():
    assert vin_check_digit("1M8GDM9A0KP042788") == "X"


@pytest.mark.parametrize(
    "plate",
    [
        "京A12345",
        "沪AD12345",
        "粤BFA1234",
        "苏E·A1B2C",
        "浙A 12345",
        "川A12345D",
        "京A1234学",
        "沪a12345",
    ],
)
def test_valid_plates_pass(plate):
    validate_plate(plate)


@pytest.mark.parametrize(
    "plate",
    ["A12345", "京12345", "京A1234", "京A123456", "京AI2345", "京AO2345", "X京A12345", "京A1234F5"],
)
def test_invalid_plates_are_refused(plate):
    with pytest.raises(ValidationError):
        validate_plate(plate)


def test_plate_normalisation_removes_separators_and_uppercases():
    assert normalize_plate(" 沪a·12345 ") == "沪A12345"


@pytest.mark.parametrize("phone", ["13812345678", "+86 138 1234 5678", "0086-19912345678"])
def test_valid_mobiles_pass(phone):
    validate_mobile(phone)


@pytest.mark.parametrize(
    "phone", ["12812345678", "1381234567", "138123456789", "021-12345678", "abc"]
)
def test_invalid_mobiles_are_refused(phone):
    with pytest.raises(ValidationError):
        validate_mobile(phone)


def test_phone_normalisation_keeps_eleven_digits():
    assert normalize_phone("+86 138-1234-5678") == "13812345678"


# Real codes from business licences: the standard's own example and four well-known companies.
REAL_TAX_NUMBERS = [
    "91350100M000100Y43",  # GB 32100-2015's worked example
    "914403001922038216",  # Huawei Technologies
    "9144030071526726XG",  # Tencent (Shenzhen)
    "91330100716105852F",  # Alibaba (China)
    "91110108551385082Q",  # Xiaomi
]


@pytest.mark.parametrize("code", REAL_TAX_NUMBERS)
def test_real_tax_numbers_pass(code):
    validate_tax_number(code)
    assert tax_number_check_character(code) == code[17]


def test_a_tax_number_typed_with_spaces_and_lowercase_is_normalised():
    assert normalize_tax_number(" 9144 0300 7152 6726 xg ") == "9144030071526726XG"
    validate_tax_number("9144 0300 7152 6726 xg")


@pytest.mark.parametrize(
    "code, error_code",
    [
        ("914403001922038217", "tax_number_check_character"),  # last character changed
        ("914403001922083216", "tax_number_check_character"),  # two digits swapped
        ("9144030071526726XA", "tax_number_check_character"),
        ("91350100M000100Y4", "tax_number_length"),
        ("91350100M000100Y433", "tax_number_length"),
        ("91350100M000I00Y43", "tax_number_chars"),  # I is never used
        ("91350100M000100S43", "tax_number_chars"),  # nor S
        ("", "tax_number_length"),
    ],
)
def test_altered_tax_numbers_are_refused_with_a_reason(code, error_code):
    with pytest.raises(ValidationError) as error:
        validate_tax_number(code)
    assert error.value.code == error_code
    assert error.value.messages[0]


def test_a_wrong_check_character_is_explained_in_chinese():
    with translation.override("zh-hans"), pytest.raises(ValidationError) as error:
        validate_tax_number("914403001922038217")
    assert "营业执照" in error.value.messages[0]
