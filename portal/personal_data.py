"""The portal's part of a customer's personal data (`dealership.privacy`): the sign-in codes
sent to their mobile (hashes only; erased with the customer)."""

from dealership.privacy import personal_data_register

from .models import SignInCode


def _codes(customer) -> list[dict]:
    return list(
        SignInCode.objects.filter(customer=customer)
        .order_by("created_at")
        .values("mobile", "created_at", "used_at")
    )


def _erase(customer) -> int:
    deleted, _by_model = SignInCode.objects.filter(customer=customer).delete()
    return deleted


personal_data_register("portal_sign_in_codes", export=_codes, erase=_erase)
