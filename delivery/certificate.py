"""The quality warranty certificate (质量保证凭证), handed over with the gate pass.

It states the store's own repair warranty (`workorders.repair_warranty`) on the work the
car leaves with: per work type, the end date and the km limit counted from the delivery.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dealership.roles import role_required
from dealership.rules import rule
from reception.models import Visit
from reception.pdf import render_pdf
from workorders.repair_warranty import VisitWarranty, line_work_type, visit_warranty

from . import selectors
from .access import MONEY_VIEWERS
from .models import Delivery


def certificate_available(delivery: Delivery | None) -> bool:
    """The certificate goes out with the gate pass: none before it is issued."""
    return delivery is not None and delivery.gate_pass_issued


def _certificate_warranty(visit: Visit, delivery: Delivery) -> VisitWarranty | None:
    return visit_warranty(visit, delivered_at=delivery.gate_pass_issued_at)


def warranty_certificate_pdf(visit: Visit, delivery: Delivery) -> bytes:
    """质量保证凭证: the car, the customer, the delivery, the work done and its warranty."""
    language = visit.customer.language
    order = selectors.order_in_force(visit)
    lines = list(order.lines.all()) if order is not None else []
    context = {
        "store_name": rule("store.name"),
        "store_phone": rule("store.phone"),
        "store_address": rule("store.address"),
        "printed_at": timezone.now(),
        "visit": visit,
        "delivery": delivery,
        "warranty": _certificate_warranty(visit, delivery),
        "lines": [(line, line_work_type(line)) for line in lines],
    }
    return render_pdf("delivery/pdf/warranty_certificate.html", context, language=language)


@role_required(*MONEY_VIEWERS)
def warranty_certificate(request, pk: int):
    """The certificate as a PDF, once the gate pass is issued (the customer's paper)."""
    try:
        visit = selectors.visit_for_delivery(pk)
    except Visit.DoesNotExist as exc:
        raise Http404 from exc
    delivery = Delivery.objects.filter(visit=visit).select_related("gate_pass_issued_by").first()
    if not certificate_available(delivery):
        messages.error(request, _("The warranty certificate is issued with the gate pass."))
        return redirect(reverse("delivery:visit", args=[pk]))
    response = HttpResponse(
        warranty_certificate_pdf(visit, delivery), content_type="application/pdf"
    )
    filename = f"warranty-certificate-{visit.number}.pdf"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
