"""One-time sign-in codes of the customer portal (the code itself is never stored)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dealership.models import Customer


class SignInCode(models.Model):
    """A 6-digit code sent to the customer's mobile: hashed, short-lived, single use."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    mobile = models.CharField(_("mobile"), max_length=20, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("valid until"))
    failed_tries = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("portal sign-in code")
        verbose_name_plural = _("portal sign-in codes")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.customer_id} {self.created_at:%Y-%m-%d %H:%M}"
