"""The customer portal's pages (mobile first). Views stay thin: services write, selectors read."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from appointments.services import appointment_link_create
from appointments.views.self_service import SESSION_VEHICLE
from dealership.links import LinkInvalid
from dealership.models import Customer
from dealership.roles import public_view, role_required
from dealership.security import client_ip
from dealership.storage import stored_file_response
from dealership.urltools import safe_next
from dealership.validators import normalize_phone
from dealership.views import CUSTOMER_VIEWERS
from dealership.web import apply_errors
from delivery.certificate import warranty_certificate_pdf
from delivery.pdf import delivery_sheet_pdf, receipt_pdf
from workorders.pdf import work_order_pdf
from workshop import additions as addition_services
from workshop.forms import APPROVE, LinkAnswerForm
from workshop.states import AnswerChannel

from . import selectors, services
from .access import portal_page
from .forms import CodeForm, ComplaintForm, MobileForm, SurveyForm

SESSION_MOBILE = "portal_pending_mobile"


def _portal_next(request) -> str:
    """Where to go after signing in: a portal page the visitor asked for, else nowhere."""
    candidate = safe_next(request, "")
    return candidate if candidate.startswith("/portal/") else ""


def _in_customer_language(request, customer, response):
    """A phone without a language chosen gets the customer's language (the switch changes it)."""
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES and customer.language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            customer.language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
        )
    return response


def _too_many(request):
    return render(request, "portal/too_many.html", status=429)


# ---------------------------------------------------------------- signing in and out


@public_view
@require_http_methods(["GET", "POST"])
def sign_in(request):
    """Step 1 of the code sign-in: the mobile on file. The answer never says whether it is."""
    if services.portal_session_customer(request.session) is not None:
        return redirect("portal:home")
    form = MobileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.portal_code_request(mobile=form.cleaned_data["mobile"], ip=client_ip(request))
        except services.TooManyTries:
            return _too_many(request)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            request.session[SESSION_MOBILE] = normalize_phone(form.cleaned_data["mobile"])
            target = redirect("portal:sign_in_code")
            next_url = _portal_next(request)
            if next_url:
                target["Location"] += "?" + urlencode({"next": next_url})
            return target
    return render(
        request,
        "portal/sign_in.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@public_view
@require_http_methods(["GET", "POST"])
def sign_in_code(request):
    """Step 2: the code from the text."""
    mobile = request.session.get(SESSION_MOBILE)
    if not mobile:
        return redirect("portal:sign_in")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.portal_code_verify(
                mobile=mobile, code=form.cleaned_data["code"], ip=client_ip(request)
            )
        except services.TooManyTries:
            return _too_many(request)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            next_url = _portal_next(request)
            request.session.pop(SESSION_MOBILE, None)
            services.portal_session_start(request.session, customer)
            return _in_customer_language(request, customer, redirect(next_url or "portal:home"))
    return render(
        request,
        "portal/sign_in_code.html",
        {"form": form, "masked": f"{mobile[:3]}****{mobile[-4:]}"},
        status=400 if request.method == "POST" else 200,
    )


@public_view
def link(request, token: str):
    """The signed portal link (SMS, WeChat menu): signs this phone in, then the home page."""
    try:
        customer, portal_link = services.portal_link_customer(token)
    except LinkInvalid as error:
        return render(request, "link_invalid.html", {"error": error}, status=404)
    services.portal_session_start(request.session, customer, link=portal_link)
    return _in_customer_language(request, customer, redirect("portal:home"))


@public_view
@require_POST
def sign_out(request):
    services.portal_session_end(request.session)
    messages.info(request, _("You are signed out."))
    return redirect("portal:sign_in")


@role_required(*CUSTOMER_VIEWERS)
@require_POST
def send_link(request, pk: int):
    """Staff text the customer a link to the portal (revocable on the customer's page)."""
    customer = Customer.objects.filter(pk=pk).first()
    if customer is None:
        raise Http404
    message = services.portal_link_send(
        customer=customer, actor=request.user, base_url=request.build_absolute_uri("/")
    )
    if message.error:
        messages.error(
            request, _("The portal link could not be sent: %(error)s") % {"error": message.error}
        )
    else:
        messages.success(request, _("The portal link was sent to the customer."))
    return redirect("customer_detail", pk=pk)


# ---------------------------------------------------------------- home, cars, bookings


@portal_page
def home(request, customer):
    return render(
        request,
        "portal/home.html",
        {
            "customer": customer,
            "vehicles": selectors.customer_vehicles(customer),
            "visits": selectors.current_visits(customer),
            "appointments": selectors.upcoming_appointments(customer),
        },
    )


@portal_page
def vehicle(request, customer, pk: int):
    car = selectors.customer_vehicle(customer, pk)
    return render(
        request,
        "portal/vehicle.html",
        {"vehicle": car, "history": selectors.service_history(customer, car)},
    )


@portal_page
@require_POST
def book(request, customer, pk: int):
    """Booking goes through the online booking pages (their real free slots), with the car
    already identified."""
    car = selectors.customer_vehicle(customer, pk)
    request.session[SESSION_VEHICLE] = car.pk
    return redirect("appointments:self_book")


@portal_page
@require_POST
def appointment_manage(request, customer, pk: int):
    """Move or cancel: a fresh link to the booking's own page (same services, same checks)."""
    appointment = selectors.customer_appointment(customer, pk)
    token = appointment_link_create(appointment=appointment, actor=None)
    return redirect("appointments:manage", token=token)


# ---------------------------------------------------------------- the visit


def _visit_page(request, customer, visit, *, answer_form=None, answering=None, status=200):
    return render(
        request,
        "portal/visit.html",
        {
            "visit": visit,
            "steps": selectors.visit_steps(visit),
            "additions": selectors.visit_additions(visit),
            "documents": selectors.visit_documents(visit),
            "survey_open": selectors.survey_open(visit),
            "survey": selectors.visit_survey(visit),
            "answer_form": answer_form,
            "answering": answering,
        },
        status=status,
    )


@portal_page
def visit(request, customer, pk: int):
    return _visit_page(request, customer, selectors.customer_visit(customer, pk))


@portal_page
@require_POST
def addition_answer(request, customer, pk: int, addition_pk: int):
    """Approve or decline proposed work: the same service and rules as the approval link."""
    the_visit = selectors.customer_visit(customer, pk)
    addition = selectors.customer_addition(customer, the_visit, addition_pk)
    form = LinkAnswerForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["decision"] == APPROVE:
                addition_services.addition_approve(
                    addition=addition, actor=None, channel=AnswerChannel.LINK
                )
                messages.success(request, _("Thank you, we will go ahead with this work."))
            else:
                addition_services.addition_decline(
                    addition=addition,
                    actor=None,
                    channel=AnswerChannel.LINK,
                    reason=form.cleaned_data["reason"],
                )
                messages.info(request, _("Noted: we will not do this work now."))
            return redirect("portal:visit", pk=the_visit.pk)
        except ValidationError as error:
            apply_errors(form, error)
    return _visit_page(
        request, customer, the_visit, answer_form=form, answering=addition.pk, status=400
    )


@portal_page
def photo(request, customer, pk: int):
    return stored_file_response(selectors.customer_photo(customer, pk).image)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@portal_page
def document(request, customer, pk: int, kind: str):
    """One of the visit's papers, only the customer's own, only once it exists (else 404)."""
    the_visit = selectors.customer_visit(customer, pk)
    documents = selectors.visit_documents(the_visit)
    if kind not in documents:
        raise Http404
    item = documents[kind]
    number = the_visit.number
    if kind == "order":
        return _pdf(work_order_pdf(item), f"{item.number}.pdf")
    if kind == "sheet":
        return _pdf(delivery_sheet_pdf(the_visit), f"delivery-sheet-{number}.pdf")
    if kind == "receipt":
        return _pdf(receipt_pdf(item), f"receipt-{item.invoice_number}.pdf")
    return _pdf(warranty_certificate_pdf(the_visit, item), f"warranty-certificate-{number}.pdf")


@portal_page
@require_http_methods(["GET", "POST"])
def survey(request, customer, pk: int):
    the_visit = selectors.customer_visit(customer, pk)
    done = selectors.visit_survey(the_visit)
    if done is None and not selectors.survey_open(the_visit):
        raise Http404
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and done is None and form.is_valid():
        try:
            result = services.portal_survey_answer(
                customer=customer, visit=the_visit, answers=form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            text = _("Thank you for your answers.")
            if result.complaint is not None:
                text += " " + _(
                    "We are sorry it was not as it should be: complaint %(number)s is opened and "
                    "we will call you."
                ) % {"number": result.complaint.number}
            messages.success(request, text)
            return redirect("portal:visit", pk=the_visit.pk)
    return render(
        request,
        "portal/survey.html",
        {"visit": the_visit, "form": form, "done": done},
        status=400 if request.method == "POST" else 200,
    )


# ---------------------------------------------------------------- complaints


@portal_page
@require_http_methods(["GET", "POST"])
def complaints(request, customer):
    visits = selectors.customer_visits_for_complaint(customer)
    form = ComplaintForm(
        request.POST or None,
        visits=visits,
        initial={"visit": request.GET.get("visit")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        the_visit = selectors.customer_visit(customer, data["visit"])
        try:
            complaint = services.portal_complaint_open(
                customer=customer,
                visit=the_visit,
                category=data["category"],
                description=data["description"],
            )
        except services.TooManyTries:
            return _too_many(request)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                _("Your complaint %(number)s is received. We will answer you by %(when)s.")
                % {
                    "number": complaint.number,
                    "when": timezone.localtime(complaint.respond_by).strftime("%Y-%m-%d %H:%M"),
                },
            )
            return redirect("portal:complaints")
    return render(
        request,
        "portal/complaints.html",
        {"complaints": selectors.customer_complaints(customer), "form": form, "visits": visits},
        status=400 if request.method == "POST" else 200,
    )
