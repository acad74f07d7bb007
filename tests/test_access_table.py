"""Issue 14 item 5: the access table of DOMAIN.md's roles, written by hand.

Every page (URL pattern) and every API route × method gets, per role, the outcome a user
should meet: allowed, 403, or (anonymous) the log-in page. The table is data in this file;
it does NOT read the views' own declarations (`allowed_roles`, `read_roles` …), so a view
that lets in a role the table does not is caught. A real object of every kind is built, so
each URL resolves to something that exists and "allowed" means the page answers (not 404).

Who does what (DOMAIN.md "Who uses it"):
- advisor: books, receives, writes the order, calls about extra work, delivers (and the bill);
- workshop controller: dispatches, watches the board, handles delays, marks the car ready;
  no money, customers' contact details masked;
- technician: their jobs (clock on/off, findings, extra work proposed), the workshop visit;
  no customer or vehicle records, no customer list;
- QC inspector: re-checks the work; sees the visit and the order, no money pages;
- cashier: settles, gate pass, receipts, voids/refunds with the manager;
- customer care: follow-up calls, complaints, appointments; no bills or receipts;
- service manager: everything of the store; admin: every page.
"""

import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

ADV, CTL, TECH, QC, CASH, CARE, MGR, ADMIN = (
    "advisor",
    "workshop_controller",
    "technician",
    "qc_inspector",
    "cashier",
    "customer_care",
    "service_manager",
    "admin",
)
CLAIMS = "claims_clerk"  # 索赔员 (issue 16.3): the claims pages only
STAFF = (ADV, CTL, TECH, QC, CASH, CARE, MGR, ADMIN, CLAIMS)
ROLES = (*STAFF, "anonymous")
PUBLIC = "public"  # anybody, anonymous included


def roles(*names: str) -> frozenset:
    """The staff roles allowed; the administrator is allowed everywhere staff go."""
    return frozenset(names) | {ADMIN}


ALL = roles(*STAFF)
NOT_TECH = roles(ADV, CTL, QC, CASH, CARE, MGR)
CUSTOMER_DESK = roles(ADV, CARE, MGR)  # edit customers, book, follow up, complaints
APPOINTMENT_VIEW = roles(ADV, CARE, CTL, MGR)
RECEPTION = roles(ADV, MGR)
VISIT_VIEW = roles(ADV, CASH, CTL, QC, MGR)
WORKSHOP_VIEW = roles(ADV, CTL, QC, TECH, MGR)
MONEY = roles(ADV, CASH, MGR)
CASHIER = roles(CASH, MGR)
MANAGER = roles(MGR)

# ------------------------------------------------------------------ pages: name -> allowed

PAGES: dict[str, frozenset | str] = {
    "home": ALL,
    "healthz": PUBLIC,
    # issue 19.1: the SMS providers' callbacks (a secret in the path; GET is 405)
    "sms_aliyun_report": PUBLIC,
    "sms_aliyun_reply": PUBLIC,
    "sms_tencent_report": PUBLIC,
    "sms_tencent_reply": PUBLIC,
    "tablet_locked": ALL,
    "search": NOT_TECH,
    "customer_create": CUSTOMER_DESK,
    "customer_detail": NOT_TECH,
    "customer_edit": CUSTOMER_DESK,
    "customer_consent": CUSTOMER_DESK,
    "privacy_requests": MANAGER,
    "privacy_request": MANAGER,
    "privacy_request_export": MANAGER,
    "privacy_request_delete": MANAGER,
    "vehicle_create": CUSTOMER_DESK,
    "vehicle_detail": NOT_TECH,
    "vehicle_edit": CUSTOMER_DESK,
    "vehicle_change_owner": CUSTOMER_DESK,
    "store_rules": MANAGER,
    "due_queue": ALL,
    "due_complete": ALL,
    "due_ops": MANAGER,
    "due_retry": MANAGER,
    # appointments (step 1): the controller sees the bookings to plan the load
    "appointments:board": APPOINTMENT_VIEW,
    "appointments:new": CUSTOMER_DESK,
    "appointments:quick_customer": CUSTOMER_DESK,
    "appointments:preview": CUSTOMER_DESK,
    "appointments:detail": APPOINTMENT_VIEW,
    "appointments:confirm": CUSTOMER_DESK,
    "appointments:cancel": CUSTOMER_DESK,
    "appointments:reschedule": CUSTOMER_DESK,
    "appointments:deposit": CUSTOMER_DESK,
    "appointments:parts_received": CUSTOMER_DESK,
    "appointments:deposit_receipt": CUSTOMER_DESK,
    "appointments:deposit_refund": MANAGER,
    "appointments:calls": CUSTOMER_DESK,
    "appointments:call_outcome": CUSTOMER_DESK,
    "appointments:opening_hours": MANAGER,
    "appointments:holiday_add": MANAGER,
    "appointments:holiday_remove": MANAGER,
    "appointments:campaigns": APPOINTMENT_VIEW,
    "appointments:campaign_new": MANAGER,
    "appointments:campaign_edit": MANAGER,
    "appointments:campaign_notify": MANAGER,
    # issue 20.10: the brand's VIN list of a campaign
    "appointments:campaign_vins": APPOINTMENT_VIEW,
    "appointments:recall_import": MANAGER,
    "appointments:recall_import_preview": MANAGER,
    "appointments:recall_import_confirm": MANAGER,
    "appointments:self_book": PUBLIC,
    "appointments:self_book_slots": PUBLIC,
    "appointments:manage": PUBLIC,
    "appointments:manage_slots": PUBLIC,
    # reception (step 2)
    "reception:check_in": RECEPTION,
    "reception:register_walk_in": RECEPTION,
    "reception:on_site": VISIT_VIEW,
    "reception:visit": VISIT_VIEW,
    "reception:concern": RECEPTION,
    "reception:walkaround": RECEPTION,
    "reception:walkaround_sign": RECEPTION,
    "reception:walkaround_signature": VISIT_VIEW,
    "reception:damage_add": RECEPTION,
    "reception:damage_remove": RECEPTION,
    "reception:damage_photo": VISIT_VIEW,
    "reception:belonging_add": RECEPTION,
    "reception:belonging_remove": RECEPTION,
    "reception:cancel": RECEPTION,
    "reception:hand_over": roles(CTL, MGR),
    "reception:key_tag": VISIT_VIEW,
    "reception:progress": PUBLIC,
    # the lounge display (issue 19.4): the manager makes the link, the TV opens it by its key
    "reception:lounge_settings": MANAGER,
    "reception:lounge_retire": MANAGER,
    "reception:lounge": PUBLIC,
    "reception:lounge_board": PUBLIC,
    "reception:insurance": RECEPTION,
    "reception:insurance_dismiss": RECEPTION,
    # work order (step 3)
    "workorders:for_visit": VISIT_VIEW,
    "workorders:start": RECEPTION,
    "workorders:order": VISIT_VIEW,
    "workorders:catalogue": RECEPTION,
    "workorders:line_add": RECEPTION,
    "workorders:line_update": RECEPTION,
    "workorders:line_remove": RECEPTION,
    "workorders:terms": RECEPTION,
    "workorders:sign": RECEPTION,
    "workorders:revise": RECEPTION,
    "workorders:pdf": VISIT_VIEW,
    "workorders:signature": VISIT_VIEW,
    "workorders:warranty_comeback": RECEPTION,
    "workorders:campaign_add": RECEPTION,
    # workshop (steps 4-5)
    "workshop:board": roles(ADV, CTL, QC, MGR),
    "workshop:dispatch": roles(CTL, MGR),
    "workshop:visit": WORKSHOP_VIEW,
    "workshop:promise": RECEPTION,
    # help at the desk (issue 20.6): the advisor asks, the controller sends a technician
    "workshop:desk_call_ask": RECEPTION,
    "workshop:desk_call_answer": roles(CTL, MGR),
    "workshop:my_jobs": roles(TECH),
    "workshop:clock_on": roles(TECH),
    "workshop:pause": roles(TECH),
    "workshop:clock_off": roles(TECH),
    "workshop:finding_new": roles(TECH),
    "workshop:photo": WORKSHOP_VIEW,
    "workshop:addition_new": roles(ADV, CTL, TECH, MGR),
    "workshop:addition": WORKSHOP_VIEW,
    "workshop:addition_answer": RECEPTION,
    "workshop:addition_send_link": RECEPTION,
    "workshop:addition_withdraw": roles(ADV, CTL, MGR),
    "workshop:roster": roles(CTL, MGR),
    "workshop:qc": roles(CTL, QC, MGR),
    "workshop:qc_inspect": roles(CTL, QC, MGR),
    "workshop:approve": PUBLIC,
    "workshop:approve_photo": PUBLIC,
    # delivery (steps 6-7): the controller marks the car ready, never sees the money
    "delivery:board": RECEPTION,
    "delivery:cashier": CASHIER,
    "delivery:tax_invoice_export": CASHIER,
    "delivery:visit": roles(ADV, CASH, CTL, MGR),
    "delivery:ready": roles(ADV, CTL, MGR),
    "delivery:final_check": RECEPTION,
    "delivery:approve_overrun": RECEPTION,
    "delivery:settle": CASHIER,
    "delivery:gate_pass": CASHIER,
    "delivery:gate_pass_pdf": MONEY,
    "delivery:sheet_pdf": MONEY,
    "delivery:warranty_certificate_pdf": MONEY,
    "delivery:hand_back": RECEPTION,
    "delivery:handback_signature": MONEY,
    "delivery:receipt_pdf": MONEY,
    "delivery:void": CASHIER,
    "delivery:tax_invoice_issue": CASHIER,
    "delivery:refund": CASHIER,
    # the cashier's day close (日结); reopening a closed day is the manager's
    "delivery:day_close": CASHIER,
    "delivery:day_close_submit": CASHIER,
    "delivery:day_close_reopen": roles(MGR),
    "delivery:day_close_pdf": CASHIER,
    "delivery:day_closes": CASHIER,
    # follow-up (step 8)
    "followup:calls": CUSTOMER_DESK,
    "followup:call_list": roles(CARE, MGR),  # the 24 h care list
    "followup:call": roles(CARE, MGR),  # a care call
    # POST only: a GET meets the page's rule (405), not the call list's.
    "followup:call_not_reached": CUSTOMER_DESK,
    "followup:complaints": CUSTOMER_DESK,
    # issue 20.8: incoming calls and messages
    "followup:enquiries": CUSTOMER_DESK,
    "followup:enquiry": CUSTOMER_DESK,
    "followup:complaint_new": CUSTOMER_DESK,
    "followup:complaint": CUSTOMER_DESK,
    "followup:complaint_act": CUSTOMER_DESK,
    "followup:complaint_assign": CUSTOMER_DESK,
    "followup:complaint_edit": CUSTOMER_DESK,
    "followup:complaint_close": CUSTOMER_DESK,
    "followup:complaint_reopen": CUSTOMER_DESK,
    "followup:customer_archive": roles(ADV, CASH, CTL, CARE, MGR),
    "followup:vehicle_archive": roles(ADV, CASH, CTL, CARE, MGR),
    "followup:customer_opt_out": CUSTOMER_DESK,
    # issue 20.11: courtesy cars (advisor lends, manager keeps the fleet)
    "loancars:loans": RECEPTION,
    "loancars:fleet": MANAGER,
    "loancars:car_edit": MANAGER,
    "loancars:book": RECEPTION,
    "loancars:check_out": RECEPTION,
    "loancars:loan": RECEPTION,
    "loancars:cancel": RECEPTION,
    "loancars:signature": RECEPTION,
    "loancars:photo": RECEPTION,
    # reports
    "reports:report": MANAGER,
    "reports:drill": MANAGER,
    "reports:targets": MANAGER,
    "reports:export_csv": MANAGER,
    "reports:export_xlsx": MANAGER,
    "reports:pdf": MANAGER,
    "login": PUBLIC,
    # issue 19.3: the customer portal (its own session, else its sign-in page)
    "portal:home": PUBLIC,
    "portal:sign_in": PUBLIC,
    "portal:sign_in_code": PUBLIC,
    "portal:sign_out": PUBLIC,
    "portal:link": PUBLIC,
    "portal:vehicle": PUBLIC,
    "portal:book": PUBLIC,
    "portal:appointment_manage": PUBLIC,
    "portal:visit": PUBLIC,
    "portal:addition_answer": PUBLIC,
    "portal:document": PUBLIC,
    "portal:survey": PUBLIC,
    "portal:photo": PUBLIC,
    "portal:complaints": PUBLIC,
    "portal:send_link": NOT_TECH,
    "logout": PUBLIC,
    "set_language": PUBLIC,
    # a car not repaired (issue 16 item 2)
    "delivery:not_repaired": RECEPTION,
    "delivery:waive_fee": CASHIER,
    "delivery:diagnosis_report_pdf": MONEY,
    # warranty claims (issue 16.3): the claims clerk and the manager
    "claims:list": roles(CLAIMS, MGR),
    "claims:detail": roles(CLAIMS, MGR),
    "claims:submit": roles(CLAIMS, MGR),
    "claims:approve": roles(CLAIMS, MGR),
    "claims:reject": roles(CLAIMS, MGR),
    "claims:line_approve": roles(CLAIMS, MGR),
    # issue 18.4, outbound webhooks: the service manager only (edit and replay are POSTs)
    "webhooks": MANAGER,
    "webhook_edit": MANAGER,
    "webhook_rotate": MANAGER,
    "webhook_replay": MANAGER,
    # API tokens and customer-link revocation (issue 18 items 2 and 3)
    "api_tokens": ALL,
    "api_token_rename": ALL,
    "api_token_revoke": ALL,
    "customer_link_revoke": NOT_TECH,
    "customer_links_revoke_all": NOT_TECH,
    # issue 19.1, WeChat: the customer's sign-in from WeChat; the desk unbinds (a POST)
    "wechat_oauth_start": PUBLIC,
    "wechat_oauth_callback": PUBLIC,
    "customer_wechat_unbind": roles(ADV, MGR),
    # issue 20.7: the customer's own advisor (a POST from the customer page)
    "customer_advisor": roles(ADV, MGR),
}

# ------------------------------------------------------------------ API: (route name, method)

API: dict[tuple[str, str], frozenset] = {
    ("customer-list", "get"): NOT_TECH,
    ("customer-list", "post"): CUSTOMER_DESK,
    ("customer-detail", "get"): NOT_TECH,
    ("customer-detail", "put"): CUSTOMER_DESK,
    ("customer-detail", "patch"): CUSTOMER_DESK,
    ("vehicle-list", "get"): NOT_TECH,
    ("vehicle-list", "post"): CUSTOMER_DESK,
    ("vehicle-detail", "get"): NOT_TECH,
    ("vehicle-detail", "put"): CUSTOMER_DESK,
    ("vehicle-detail", "patch"): CUSTOMER_DESK,
    ("vehicle-change-owner", "post"): CUSTOMER_DESK,
    ("report-figures-list", "get"): MANAGER,
    ("report-visits-list", "get"): MANAGER,
    ("report-targets-list", "get"): MANAGER,
    ("report-targets-list", "post"): MANAGER,
    ("appointment-list", "get"): APPOINTMENT_VIEW,
    ("appointment-list", "post"): CUSTOMER_DESK,
    ("appointment-figures", "get"): APPOINTMENT_VIEW,
    ("appointment-free-slots", "get"): APPOINTMENT_VIEW,
    ("appointment-detail", "get"): APPOINTMENT_VIEW,
    ("appointment-cancel", "post"): CUSTOMER_DESK,
    ("appointment-confirm", "post"): CUSTOMER_DESK,
    ("appointment-reschedule", "post"): CUSTOMER_DESK,
    ("appointment-call-list", "get"): CUSTOMER_DESK,
    ("appointment-call-outcome", "post"): CUSTOMER_DESK,
    ("visit-list", "get"): VISIT_VIEW,
    ("visit-list", "post"): RECEPTION,
    ("visit-detail", "get"): VISIT_VIEW,
    ("visit-cancel", "post"): RECEPTION,
    ("visit-hand-over", "post"): roles(CTL, MGR),
    ("work-order-list", "get"): VISIT_VIEW,
    ("work-order-list", "post"): RECEPTION,
    ("work-order-detail", "get"): VISIT_VIEW,
    ("work-order-lines", "post"): RECEPTION,
    ("job-list", "get"): WORKSHOP_VIEW,
    ("job-dispatch-jobs", "post"): roles(CTL, MGR),
    ("job-detail", "get"): WORKSHOP_VIEW,
    ("job-clock-off", "post"): roles(TECH),
    ("job-clock-on", "post"): roles(TECH),
    ("job-pause", "post"): roles(TECH),
    ("addition-list", "get"): WORKSHOP_VIEW,
    ("addition-list", "post"): roles(ADV, CTL, TECH, MGR),
    ("addition-detail", "get"): WORKSHOP_VIEW,
    ("addition-answer", "post"): RECEPTION,
    ("addition-withdraw", "post"): roles(ADV, CTL, MGR),
    ("qc-list", "get"): roles(CTL, QC, MGR),
    ("qc-inspect", "post"): roles(CTL, QC, MGR),
    ("board-list", "get"): roles(ADV, CTL, QC, MGR),
    ("delivery-settlement-list", "get"): MONEY,
    ("delivery-settlement-detail", "get"): MONEY,
    ("delivery-state-list", "get"): roles(ADV, CASH, CTL, MGR),
    ("delivery-state-detail", "get"): roles(ADV, CASH, CTL, MGR),
    ("followup-call-list", "get"): CUSTOMER_DESK,
    ("followup-call-detail", "get"): roles(CARE, MGR),  # a care call
    ("followup-call-outcome", "post"): roles(CARE, MGR),
    ("complaint-list", "get"): CUSTOMER_DESK,
    ("complaint-list", "post"): CUSTOMER_DESK,
    ("complaint-detail", "get"): CUSTOMER_DESK,
    ("complaint-actions", "post"): CUSTOMER_DESK,
    ("complaint-close", "post"): CUSTOMER_DESK,
    ("complaint-reopen", "post"): CUSTOMER_DESK,
    # delivery actions (issue 18.1, h6): the delivery pages' roles
    ("delivery-state-ready", "post"): roles(ADV, CTL, MGR),
    ("delivery-state-final-check", "post"): RECEPTION,
    ("delivery-state-approve-overrun", "post"): RECEPTION,
    ("delivery-state-settle", "post"): CASHIER,
    ("delivery-state-gate-pass", "post"): CASHIER,
    ("delivery-state-hand-back", "post"): RECEPTION,
    ("delivery-state-not-repaired", "post"): RECEPTION,
    ("delivery-state-waive-fee", "post"): CASHIER,
    ("delivery-settlement-void", "post"): CASHIER,
    ("delivery-settlement-refund", "post"): CASHIER,
    ("delivery-settlement-tax-invoice", "post"): CASHIER,
    # issue 18.1, workshop and follow-up actions through the API (helper 8)
    ("job-finding", "post"): roles(TECH),
    ("finding-list", "get"): WORKSHOP_VIEW,
    ("finding-detail", "get"): WORKSHOP_VIEW,
    ("finding-propose", "post"): roles(ADV, CTL, TECH, MGR),
    ("addition-send-link", "post"): RECEPTION,
    ("workshop-visit-promise", "post"): RECEPTION,
    ("followup-call-not-reached", "post"): roles(CARE, MGR),  # a care call
    ("complaint-assign", "post"): CUSTOMER_DESK,
    ("complaint-edit", "post"): CUSTOMER_DESK,
    ("followup-customer-opt-out", "post"): CUSTOMER_DESK,
    # issue 18.1, reception and work order through the API (helper 7)
    ("visit-walkaround", "post"): RECEPTION,
    ("visit-damage-marks", "post"): RECEPTION,
    ("visit-belongings", "post"): RECEPTION,
    ("visit-walkaround-sign", "post"): RECEPTION,
    ("visit-concern", "post"): RECEPTION,
    ("visit-insurance", "post"): RECEPTION,
    ("visit-insurance-dismiss", "post"): RECEPTION,
    ("damage-mark-detail", "delete"): RECEPTION,
    ("belonging-detail", "delete"): RECEPTION,
    ("work-order-terms", "post"): RECEPTION,
    ("work-order-sign", "post"): RECEPTION,
    ("work-order-revise", "post"): RECEPTION,
    ("order-line-detail", "patch"): RECEPTION,
    ("order-line-detail", "delete"): RECEPTION,
    ("order-line-warranty-approve", "post"): roles(CLAIMS, MGR),
    ("order-visit-warranty-comeback", "post"): RECEPTION,
    ("warranty-claim-list", "get"): roles(CLAIMS, MGR),
    ("warranty-claim-detail", "get"): roles(CLAIMS, MGR),
    ("warranty-claim-submit", "post"): roles(CLAIMS, MGR),
    ("warranty-claim-approve", "post"): roles(CLAIMS, MGR),
    ("warranty-claim-reject", "post"): roles(CLAIMS, MGR),
    # issue 18, the integration pages through the API (helper A1): webhooks are the service
    # manager's, tokens every staff member's own, the day close the cashier's pages' roles
    ("webhook-subscription-list", "get"): MANAGER,
    ("webhook-subscription-list", "post"): MANAGER,
    ("webhook-subscription-detail", "get"): MANAGER,
    ("webhook-subscription-detail", "patch"): MANAGER,
    ("webhook-subscription-rotate-secret", "post"): MANAGER,
    ("webhook-delivery-list", "get"): MANAGER,
    ("webhook-delivery-detail", "get"): MANAGER,
    ("webhook-delivery-replay", "post"): MANAGER,
    ("api-token-list", "get"): ALL,
    ("api-token-list", "post"): ALL,
    ("api-token-detail", "get"): ALL,
    ("api-token-revoke", "post"): ALL,
    ("day-close-list", "get"): CASHIER,
    ("day-close-figures", "get"): CASHIER,
    ("day-close-close", "post"): CASHIER,
    ("day-close-reopen", "post"): MANAGER,
    ("day-close-pdf", "get"): CASHIER,
    ("work-order-promise-suggestion", "get"): VISIT_VIEW,  # the order page's
    # issue 18.1 parity (helper 12): the customer page's links, consent, WeChat and portal
    # link, the privacy requests and the lounge link, with their pages' roles
    ("customer-link-links", "get"): NOT_TECH,
    ("customer-link-revoke", "post"): NOT_TECH,
    ("customer-link-revoke-all", "post"): NOT_TECH,
    ("customer-consent-consent", "get"): NOT_TECH,
    ("customer-consent-consent", "post"): CUSTOMER_DESK,
    ("customer-wechat-wechat-unbind", "post"): RECEPTION,
    ("customer-portal-portal-link", "post"): NOT_TECH,
    ("privacy-request-list", "get"): MANAGER,
    ("privacy-request-list", "post"): MANAGER,
    ("privacy-request-detail", "get"): MANAGER,
    ("privacy-request-answer", "post"): MANAGER,
    ("privacy-request-export", "post"): MANAGER,
    ("privacy-request-delete", "post"): MANAGER,
    ("lounge-display", "get"): MANAGER,
    ("lounge-display", "post"): MANAGER,
    ("lounge-display-switch-off", "post"): MANAGER,
    # issue 18.1 parity for issue 20's pages (helper 13): the enquiries page's roles
    ("enquiry-list", "get"): CUSTOMER_DESK,
    ("enquiry-list", "post"): CUSTOMER_DESK,
    ("enquiry-detail", "get"): CUSTOMER_DESK,
    ("enquiry-respond", "post"): CUSTOMER_DESK,
    ("enquiry-close", "post"): CUSTOMER_DESK,
    ("desk-call-list", "get"): roles(ADV, CTL, QC, MGR),  # the board's
    ("desk-call-detail", "get"): roles(ADV, CTL, QC, MGR),
    ("desk-call-answer", "post"): roles(CTL, MGR),
    ("desk-visit-ask-desk", "post"): RECEPTION,
    ("roster-list", "get"): roles(CTL, MGR),
    ("roster-list", "post"): roles(CTL, MGR),
    ("roster-clear", "post"): roles(CTL, MGR),
    ("customer-advisor-advisor", "post"): RECEPTION,  # the customer page's
    ("loan-car-list", "get"): RECEPTION,  # courtesy cars: the advisors lend,
    ("loan-car-list", "post"): MANAGER,  # the manager keeps the fleet
    ("loan-car-detail", "get"): RECEPTION,
    ("loan-car-detail", "patch"): MANAGER,
    ("loan-list", "get"): RECEPTION,
    ("loan-detail", "get"): RECEPTION,
    ("loan-return", "post"): RECEPTION,
    ("loan-cancel", "post"): RECEPTION,
    ("loan-appointment-book", "post"): RECEPTION,
    ("loan-visit-check-out", "post"): RECEPTION,
}
# A caller's own objects only: another person's (the table's) is not found, by design.
API_OWN_ONLY = {"api-token-detail", "api-token-revoke"}
# Not resources: the schema and its docs (log-in), the router root, the JSON 404.
API_EXEMPT = {"api-schema", "api-docs", "api-root", "api-not-found"}


# ------------------------------------------------------------------ the URL conf, walked


def _walk(patterns, prefix="", namespace=None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(
                entry.url_patterns, prefix + str(entry.pattern), entry.namespace or namespace
            )
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry, namespace


def _pages():
    for route, pattern, namespace in _walk(get_resolver().url_patterns):
        if route.startswith(("admin/", "api/", "^")):
            continue
        yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), pattern


def _api_routes():
    for route, pattern, _namespace in _walk(get_resolver().url_patterns):
        if not route.startswith("api/") or pattern.name in API_EXEMPT:
            continue
        if "format" in pattern.pattern.regex.groupindex:
            continue
        yield route, pattern


# ------------------------------------------------------------------ a store with one of each


def _png() -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def store(settings, tmp_path):
    """One real object of every kind a URL names."""
    from appointments.duties import CALL_KINDS
    from appointments.models import Campaign, Holiday, RecallImport
    from appointments.services import appointment_book, appointment_record_deposit
    from appointments.tests.factories import local, make_workshop
    from dealership.models import DueTask, WebhookDelivery, WebhookSubscription
    from dealership.tokens import api_token_issue
    from delivery.tests.factories import settled_visit, staff
    from followup.complaints import complaint_open
    from followup.duties import CARE_CALL
    from followup.tests.factories import delivered_visit
    from reception.models import Belonging, DamageMark
    from workshop.models import Addition, DeskCall, Finding, FindingPhoto, Job
    from workshop.tests.factories import make_technician

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    advisor = staff("advisor")
    visit, order, settlement = settled_visit()
    customer, vehicle = visit.customer, visit.vehicle
    damage = DamageMark.objects.create(
        visit=visit, kind="scratch", x=Decimal(10), y=Decimal(20), photo=_png()
    )
    visit.delivery.handback_signature = _png()
    visit.delivery.save(update_fields=["handback_signature"])
    belonging = Belonging.objects.create(visit=visit, description="雨伞")
    line = order.lines.order_by("position").first()
    technician = make_technician()
    job = Job.objects.create(
        visit=visit, order_line=line, name_zh="换刹车片", technician=technician
    )
    finding = Finding.objects.create(
        visit=visit, job=job, note="刹车盘磨损", reported_by=technician.user
    )
    photo = FindingPhoto.objects.create(finding=finding, image=_png())
    addition = Addition.objects.create(
        visit=visit, finding=finding, title="换刹车盘", proposed_by=technician.user
    )
    desk_call = DeskCall.objects.create(visit=visit, asked_by=advisor)
    delivered_visit(customer=customer, vehicle=vehicle, advisor=advisor)
    care_call = DueTask.objects.filter(kind=CARE_CALL).first()
    complaint = complaint_open(
        customer=customer, actor=advisor, source="desk", category="quality", description="噪音"
    )
    day = timezone.localdate() + timedelta(days=6)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    workshop = make_workshop()
    appointment = appointment_book(
        customer=customer,
        vehicle=vehicle,
        start=local(day, 10),
        operations=[workshop["oil"]],
        actor=advisor,
    )
    deposit = appointment_record_deposit(
        appointment=appointment, amount="10", method="cash", actor=advisor
    )
    appointment_call = DueTask.objects.filter(kind__in=CALL_KINDS).first()
    holiday = Holiday.objects.create(day=day + timedelta(days=30), name="店庆")
    campaign = Campaign.objects.create(code="RC-1", name_zh="召回", name_en="Recall")
    from dealership.models import PrivacyRequest

    privacy_request = PrivacyRequest.objects.create(
        customer=customer, kind="see", channel="desk", received_at=timezone.now()
    )
    recall_import = RecallImport.objects.create(campaign=campaign, file_name="recall.csv")
    from loancars.models import Loan, LoanCar, LoanPhoto

    loan_car = LoanCar.objects.create(plate="苏E·D0001", model="卡罗拉")
    loan = Loan.objects.create(
        car=loan_car,
        customer=customer,
        visit=visit,
        status="returned",
        km_out=10,
        km_in=20,
        agreement_signature=_png(),
    )
    loan_photo = LoanPhoto.objects.create(loan=loan, stage="out", image=_png())
    assert care_call is not None and appointment_call is not None
    # A warranty claim on the settled order's first line (issue 16.3).
    from workorders.models import WarrantyClaim

    claim = WarrantyClaim.objects.create(line=line)
    # The integration pages' objects (issue 18): a subscription, one delivery, a token.
    subscription = WebhookSubscription.objects.create(
        url="https://93.184.215.14/hook", events=["visit.ready"], secret="0" * 64
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_id="00000000-0000-4000-8000-000000000001",
        event_type="visit.ready",
        body="{}",
    )
    api_token, _key = api_token_issue(user=advisor, name="DMS")
    from dealership.links import customer_link_create
    from dealership.models import CustomerLink
    from followup.enquiries import enquiry_log

    enquiry = enquiry_log(actor=advisor, channel="wechat", topic="price", customer=customer)
    customer_link_create(obj=customer, purpose="portal", customer=customer, actor=advisor)
    link = CustomerLink.objects.filter(customer=customer, purpose="portal").latest("id")
    return {
        "enquiry": enquiry,
        "link": link,
        "webhook_subscription": subscription,
        "webhook_delivery": delivery,
        "api_token": api_token,
        "claim": claim,
        "customer": customer,
        "vehicle": vehicle,
        "visit": visit,
        "order": order,
        "line": line,
        "settlement": settlement,
        "damage": damage,
        "belonging": belonging,
        "job": job,
        "finding": finding,
        "photo": photo,
        "addition": addition,
        "care_call": care_call,
        "complaint": complaint,
        "appointment": appointment,
        "deposit": deposit,
        "appointment_call": appointment_call,
        "holiday": holiday,
        "campaign": campaign,
        "privacy_request": privacy_request,
        "desk_call": desk_call,
        "recall_import": recall_import,
        "loan_car": loan_car,
        "loan": loan,
        "loan_photo": loan_photo,
    }


# Which object each page's id names (pages without ids need none; tokens are junk: the
# public pages answer them themselves).
PAGE_OBJECT = {
    "customer_detail": "customer",
    "customer_edit": "customer",
    "customer_consent": "customer",
    "privacy_request": "privacy_request",
    "privacy_request_export": "privacy_request",
    "privacy_request_delete": "privacy_request",
    "vehicle_create": "customer",
    "vehicle_detail": "vehicle",
    "vehicle_edit": "vehicle",
    "vehicle_change_owner": "vehicle",
    "due_complete": "care_call",
    "due_retry": "care_call",
    "appointments:call_outcome": "appointment_call",
    "appointments:holiday_remove": "holiday",
    "appointments:campaign_edit": "campaign",
    "appointments:campaign_notify": "campaign",
    "appointments:campaign_vins": "campaign",
    "appointments:recall_import": "campaign",
    "appointments:recall_import_preview": "recall_import",
    "appointments:recall_import_confirm": "recall_import",
    "workorders:campaign_add": "campaign",
    "loancars:car_edit": "loan_car",
    "loancars:book": "appointment",
    "loancars:loan": "loan",
    "loancars:cancel": "loan",
    "loancars:signature": "loan",
    "loancars:photo": "loan_photo",
    "appointments:deposit_receipt": "deposit",
    "appointments:deposit_refund": "deposit",
    "reception:damage_remove": "damage",
    "workshop:desk_call_answer": "desk_call",
    "reception:damage_photo": "damage",
    "reception:belonging_remove": "belonging",
    "workorders:order": "order",
    "workorders:catalogue": "order",
    "workorders:line_add": "order",
    "workorders:line_update": "line",
    "workorders:line_remove": "line",
    "workorders:terms": "order",
    "workorders:sign": "order",
    "workorders:revise": "order",
    "workorders:pdf": "order",
    "workorders:signature": "order",
    "workshop:clock_on": "job",
    "workshop:pause": "job",
    "workshop:clock_off": "job",
    "workshop:finding_new": "job",
    "workshop:photo": "photo",
    "workshop:addition_new": "finding",
    "workshop:addition": "addition",
    "workshop:addition_answer": "addition",
    "workshop:addition_send_link": "addition",
    "workshop:addition_withdraw": "addition",
    "delivery:receipt_pdf": "settlement",
    "delivery:void": "settlement",
    "delivery:tax_invoice_issue": "settlement",
    "delivery:refund": "settlement",
    "followup:call": "care_call",
    "followup:call_not_reached": "care_call",
    "followup:complaint": "complaint",
    "followup:complaint_act": "complaint",
    "followup:complaint_assign": "complaint",
    "followup:complaint_edit": "complaint",
    "followup:complaint_close": "complaint",
    "followup:complaint_reopen": "complaint",
    "followup:customer_archive": "customer",
    "followup:vehicle_archive": "vehicle",
    "followup:customer_opt_out": "customer",
    "claims:detail": "claim",
    "claims:submit": "claim",
    "claims:approve": "claim",
    "claims:reject": "claim",
    "claims:line_approve": "line",
    # issue 18.3: the customer whose links are revoked
    "customer_link_revoke": "customer",
    "customer_links_revoke_all": "customer",
    "customer_wechat_unbind": "customer",
    "customer_advisor": "customer",
    "followup:enquiry": "enquiry",
    "portal:send_link": "customer",
}
PAGE_QUERY = {"reports:drill": "?figure=repair_orders"}
# Pages under appointments/<pk>/ name the appointment, everything else's <pk> the visit.
PREFIX_OBJECT = {"appointments": "appointment"}


def _page_url(name: str, pattern: URLPattern, store: dict) -> str:
    kwargs = {}
    for key in pattern.pattern.converters:
        if key == "token":
            kwargs[key] = "junk-token"
        elif key == "slug":
            kwargs[key] = "care"
        else:
            kind = PAGE_OBJECT.get(name) or PREFIX_OBJECT.get(name.split(":")[0], "visit")
            if key in ("visit_pk",):
                kind = "visit"
            if key in ("customer_pk",):
                kind = "customer"
            kwargs[key] = store[kind].pk if key != "pk" or name != "workshop:approve_photo" else 1
    url = reverse(name, kwargs=kwargs)
    return url + PAGE_QUERY.get(name, "")


API_OBJECT = {
    "customer": "customer",
    "vehicle": "vehicle",
    "appointment": "appointment",
    "appointment-call": "appointment_call",
    "visit": "visit",
    "work-order": "order",
    "job": "job",
    "addition": "addition",
    "qc": "visit",
    "delivery-settlement": "settlement",
    "delivery-state": "visit",
    "followup-call": "care_call",
    "complaint": "complaint",
    # issue 18.1, workshop and follow-up actions (helper 8)
    "finding": "finding",
    "workshop-visit": "visit",
    "followup-customer": "customer",
    # issue 18.1, reception and work order through the API (helper 7)
    "damage-mark": "damage",
    "belonging": "belonging",
    "order-line": "line",
    "order-visit": "visit",
    "warranty-claim": "claim",
    # issue 18, the integration pages through the API (helper A1)
    "webhook-subscription": "webhook_subscription",
    "webhook-delivery": "webhook_delivery",
    "api-token": "api_token",
    # issue 18.1 parity (helper 12)
    "privacy-request": "privacy_request",
    # issue 18.1 parity for issue 20's pages (helper 13)
    "enquiry": "enquiry",
    "desk-call": "desk_call",
    "desk-visit": "visit",
    "loan-car": "loan_car",
    "loan-appointment": "appointment",
    "loan-visit": "visit",
    "loan": "loan",
}


def _api_path(route: str, name: str, store: dict) -> str:
    base = name.rsplit("-", 1)[0]
    for prefix in sorted(API_OBJECT, key=len, reverse=True):
        if base == prefix or base.startswith(prefix + "-"):
            obj = store[API_OBJECT[prefix]]
            break
    else:
        obj = None
    path = route.replace("^", "").replace("$", "").replace("\\.", ".")
    # A link of the customer (issue 18.1: one link revoked through the API).
    path = re.sub(r"\(\?P<link_id>[^)]*\)", str(store["link"].pk), path)
    if "(?P<pk>" in path:
        assert obj is not None, name
        path = re.sub(r"\(\?P<pk>[^)]*\)", str(obj.pk), path)
    return "/" + path


# ------------------------------------------------------------------ the table is complete


def test_every_page_and_api_route_is_in_the_table():
    pages = {name for name, _pattern in _pages()}
    assert sorted(pages - set(PAGES)) == [], "pages missing from the access table"
    assert sorted(set(PAGES) - pages) == [], "pages in the table that no longer exist"
    routes = {
        (pattern.name, method)
        for _route, pattern in _api_routes()
        for method in (pattern.callback.actions or {})
        if method not in ("head", "options")
    }
    assert sorted(routes - set(API)) == [], "API routes missing from the access table"
    assert sorted(set(API) - routes) == [], "API routes in the table that no longer exist"


# ------------------------------------------------------------------ every page × role


def _client_for(client, make_staff, role):
    if role != "anonymous":
        client.force_login(make_staff(role))
    return client


def _outcome(response) -> str:
    if response.status_code == 403:
        return "403"
    if response.status_code in (301, 302) and response["Location"].startswith(reverse("login")):
        return "login"
    return "allowed"


@pytest.mark.parametrize("role", ROLES)
def test_each_page_answers_each_role_as_the_table_says(client, make_staff, store, role):
    client = _client_for(client, make_staff, role)
    wrong = []
    for name, pattern in _pages():
        allowed = PAGES[name]
        url = _page_url(name, pattern, store)
        response = client.get(url)
        assert response.status_code < 500, (role, url, response.status_code)
        if allowed == PUBLIC:
            expected = "allowed"
        elif role == "anonymous":
            expected = "login"
        else:
            expected = "allowed" if role in allowed else "403"
        got = _outcome(response)
        if got != expected:
            wrong.append((name, url, response.status_code, f"expected {expected}"))
        elif expected == "allowed" and allowed != PUBLIC and response.status_code == 404:
            wrong.append((name, url, 404, "the object was not found"))
    assert wrong == [], f"{role}: {wrong}"


@pytest.mark.parametrize("role", ROLES)
def test_each_api_route_answers_each_role_as_the_table_says(make_staff, store, role):
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(make_staff(role))
    wrong = []
    for route, pattern in _api_routes():
        path = _api_path(route, pattern.name, store)
        for method in list(pattern.callback.actions or {}):
            if method in ("head", "options"):
                continue
            allowed = API[(pattern.name, method)]
            status = getattr(client, method)(path, {}, format="json").status_code
            assert status < 500, (role, method, path, status)
            if role == "anonymous":
                ok = status in (401, 403)
            elif role in allowed:
                ok = status not in (401, 403) and (status != 404 or pattern.name in API_OWN_ONLY)
            else:
                ok = status == 403
            if not ok:
                wrong.append((method.upper(), path, status))
    assert wrong == [], f"{role}: {wrong}"


# ------------------------------------------------------------------ no link that answers 403


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "action", "hx-get", "hx-post", "src"):
            value = attrs.get(key) or ""
            if value.startswith("/") and not value.startswith(("/static/", "//")):
                self.urls.add((value.split("?")[0].split("#")[0], key))


# Follow-up call lists: each list has its own roles (the table's row is the care list's).
PER_LIST = {"followup:call_list", "followup:call", "followup:call_not_reached"}


@pytest.mark.parametrize("role", [r for r in STAFF if r != ADMIN])
def test_no_page_shows_a_role_a_link_or_form_it_may_not_use(client, make_staff, store, role):
    client.force_login(make_staff(role))
    names = dict(_pages())
    wrong = set()
    for name, pattern in names.items():
        allowed = PAGES[name]
        if allowed == PUBLIC or role not in allowed:
            continue
        response = client.get(_page_url(name, pattern, store))
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        parser = _Links()
        parser.feed(response.content.decode())
        for url, attribute in parser.urls:
            try:
                match = resolve(url)
            except Resolver404:  # not one of ours (media files, …)
                continue
            target = match.view_name
            if target in PER_LIST:
                continue
            rule = PAGES.get(target)
            if rule is None or rule == PUBLIC:
                continue
            if role not in rule:
                wrong.add((name, attribute, target))
    assert sorted(wrong) == [], f"{role} is shown links that answer 403: {sorted(wrong)}"


# ------------------------------------------------------------------ money only for money roles


MONEY_PAGES = {
    "followup:customer_archive": "customer",
    "followup:vehicle_archive": "vehicle",
    "delivery:visit": "visit",
    "reception:visit": "visit",
    "workorders:order": "order",
    "workshop:visit": "visit",
    "workshop:addition": "addition",
}
AMOUNT = re.compile(r"[¥￥]\s?-?[0-9]")


@pytest.mark.parametrize("role", (CTL, QC, TECH, CARE))
def test_roles_that_do_not_handle_money_see_no_invoice_or_amount(client, make_staff, store, role):
    settlement = store["settlement"]
    client.force_login(make_staff(role))
    seen = 0
    for name, kind in MONEY_PAGES.items():
        if role not in PAGES[name]:
            continue
        response = client.get(reverse(name, args=[store[kind].pk]))
        assert response.status_code == 200, name
        page = response.content.decode()
        assert settlement.invoice_number not in page, name
        assert not AMOUNT.search(page), (name, AMOUNT.search(page).group(0))
        seen += 1
    assert seen >= 2
    if role == CTL:
        api = APIClient()
        api.force_authenticate(make_staff(role))
        data = api.get(f"/api/delivery/visits/{store['visit'].pk}/").json()
        assert data["invoice_number"] == "" and data["bill"] is None


@pytest.mark.parametrize("role", (ADV, CASH, MGR))
def test_money_roles_see_the_invoice_and_the_amounts(client, make_staff, store, role):
    client.force_login(make_staff(role))
    page = client.get(reverse("delivery:visit", args=[store["visit"].pk])).content.decode()
    assert store["settlement"].invoice_number in page
    order = client.get(reverse("workorders:order", args=[store["order"].pk])).content.decode()
    assert f"¥{store['order'].estimate_total}" in order
    archive = reverse("followup:customer_archive", args=[store["customer"].pk])
    assert store["settlement"].invoice_number in client.get(archive).content.decode()
