import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from dealership.validators import (
    normalize_phone,
    normalize_plate,
    validate_mobile,
    validate_plate,
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
