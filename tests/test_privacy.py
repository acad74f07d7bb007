"""Privacy requests (PIPL): the export holds the customer's data; deletion anonymises, keeps
the accounting records and leaves a month report's figures identical."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from openpyxl import load_workbook

from dealership.consent import consent_allows, consent_record
from dealership.models import Customer, Message, PrivacyRequest, TimelineEvent
from dealership.notifications import notify
from dealership.privacy import (
    privacy_request_answer,
    privacy_request_delete,
    privacy_request_export,
    privacy_request_record,
)
from dealership.tests.factories import CustomerFactory, UserFactory, VehicleFactory
from delivery.models import Settlement
from followup.complaints import complaint_open
from followup.models import Complaint
from reception.models import Visit
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory
from reports.selectors import report_build
from reports.tests.test_figures import JAN, NOW, build_store
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def _request(customer, kind, manager):
    return privacy_request_record(
        customer=customer,
        kind=kind,
        channel="desk",
        received_at=timezone.now() - timedelta(hours=1),
        note="本人到店申请",
        actor=manager,
    )


def test_the_export_holds_the_customers_data_as_json_and_xlsx():
    manager = UserFactory(roles=["service_manager"])
    customer = CustomerFactory(
        name="李雷", email="li@example.com", address="深圳市南山区", notes='=HYPERLINK("x")'
    )
    car = VehicleFactory(owner=customer, plate="粤B12345")
    VisitFactory(customer=customer, vehicle=car, status=VisitStatus.CLOSED)
    consent_record(customer=customer, purpose="marketing", granted=True, source="desk")
    notify(customer=customer, template="reminder", context={"note": "保养提醒"})
    request = _request(customer, "export", manager)

    content = privacy_request_export(request=request, actor=manager)

    archive = zipfile.ZipFile(io.BytesIO(content))
    data = json.loads(archive.read("data.json"))
    assert data["customer"][0]["name"] == "李雷"
    assert data["customer"][0]["address"] == "深圳市南山区"
    assert data["vehicles"][0]["plate"] == "粤B12345"
    assert len(data["visits"]) == 1
    assert data["consents"][0]["purpose"] == "marketing" and data["consents"][0]["text"]
    assert "保养提醒" in data["messages"][0]["body"]
    book = load_workbook(io.BytesIO(archive.read("data.xlsx")))
    assert {"customer", "vehicles", "visits", "messages", "consents"} <= set(book.sheetnames)
    header, row = ([cell.value for cell in line] for line in book["customer"].iter_rows(max_row=2))
    exported = dict(zip(header, row, strict=True))
    assert exported["name"] == "李雷"
    assert exported["notes"] == '=HYPERLINK("x")'
    assert book["customer"].cell(2, header.index("notes") + 1).data_type == "s"
    request.refresh_from_db()
    assert request.answered_by == manager and request.answered_at and request.answer
    with pytest.raises(ValidationError):  # answered once
        privacy_request_export(request=request, actor=manager)


def test_delete_anonymises_keeps_the_books_and_the_month_report_is_identical(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    build_store()
    manager = UserFactory(roles=["service_manager"])
    visit = (
        Visit.objects.filter(settlements__isnull=False, checked_in_at__lt=NOW)
        .exclude(status__in=[VisitStatus.CANCELLED])
        .first()
    )
    customer = visit.customer
    Visit.objects.filter(customer=customer).exclude(pk=visit.pk).update(status=VisitStatus.CLOSED)
    Customer.objects.filter(pk=customer.pk).update(
        name="韩梅梅", email="han@example.com", address="广州市天河区", notes="喜欢下午来"
    )
    customer.refresh_from_db()
    mobile = customer.mobile
    consent_record(customer=customer, purpose="marketing", granted=True, source="desk")
    message = notify(customer=customer, template="reminder", context={"note": "韩梅梅的车"})
    order = WorkOrder.objects.filter(visit=visit).first()
    assert order is not None
    order.signature.save("sig.png", ContentFile(b"\x89PNG fake"), save=False)
    WorkOrder.objects.filter(pk=order.pk).update(
        signature=order.signature.name, signer_name="韩梅梅"
    )
    WorkOrder.objects.get(pk=order.pk).save()  # a history row that names the signer
    assert order.history.filter(signer_name="韩梅梅").exists()
    signature_file = tmp_path / order.signature.name
    assert signature_file.exists()
    settlements = list(Settlement.objects.filter(visit__customer=customer).values())
    before = report_build(JAN, now=NOW, with_charts=False)

    request = _request(customer, "delete", manager)
    privacy_request_delete(request=request, actor=manager)

    customer.refresh_from_db()
    assert customer.name == f"已删除客户 #{customer.pk}"
    assert mobile not in customer.mobile and customer.email == customer.address == ""
    assert customer.notes == "" and customer.do_not_call
    assert not any("韩梅梅" in row.name or row.mobile == mobile for row in customer.history.all())
    message.refresh_from_db()
    assert message.body == "" and mobile not in message.to
    assert not TimelineEvent.objects.filter(customer=customer, summary__contains="韩梅梅").exists()
    assert not consent_allows(customer, "marketing") and not consent_allows(customer, "service")
    order.refresh_from_db()
    assert not order.signature and order.signer_name != "韩梅梅"
    assert not signature_file.exists()
    assert not order.history.filter(signer_name="韩梅梅").exists()
    # The accounting records and the visits' link stay; the figures do not move.
    assert list(Settlement.objects.filter(visit__customer=customer).values()) == settlements
    assert Visit.objects.filter(pk=visit.pk, customer=customer).exists()
    after = report_build(JAN, now=NOW, with_charts=False)
    assert [(r.figure.key, r.value, r.previous, r.last_year) for r in after.rows] == [
        (r.figure.key, r.value, r.previous, r.last_year) for r in before.rows
    ]
    assert after.work_types == before.work_types and after.spending == before.spending
    request.refresh_from_db()
    assert request.answered_by == manager and request.answered_at is not None


def test_a_customer_with_an_open_visit_cannot_be_deleted_and_nothing_changes():
    manager = UserFactory(roles=["service_manager"])
    customer = CustomerFactory(name="张三")
    visit = VisitFactory(customer=customer, vehicle=VehicleFactory(owner=customer))
    assert visit.is_open
    request = _request(customer, "delete", manager)
    with pytest.raises(ValidationError) as refused:
        privacy_request_delete(request=request, actor=manager)
    assert visit.number in str(refused.value)
    customer.refresh_from_db()
    assert customer.name == "张三"
    assert PrivacyRequest.objects.get(pk=request.pk).answered_at is None


def test_delete_also_forgets_the_wechat_account_sms_replies_and_sign_in_codes():
    from dealership.models import InboundSms
    from portal.models import SignInCode

    manager = UserFactory(roles=["service_manager"])
    customer = CustomerFactory(mobile="13855556666", wechat_openid="oQ7x_5AbCdEfGhIjKlMnOpQrStUv")
    InboundSms.objects.create(
        provider="aliyun", mobile=customer.mobile, text="TD", customer=customer
    )
    SignInCode.objects.create(
        customer=customer,
        mobile=customer.mobile,
        code_hash="0" * 64,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    privacy_request_delete(request=_request(customer, "delete", manager), actor=manager)
    customer.refresh_from_db()
    assert customer.wechat_openid == ""
    inbound = InboundSms.objects.get(customer=customer)
    assert customer.mobile != "13855556666" and "13855556666" not in inbound.mobile
    assert inbound.text == ""
    assert not SignInCode.objects.filter(customer=customer).exists()


def test_a_request_to_see_or_correct_is_answered_in_words_once():
    manager = UserFactory(roles=["service_manager"])
    customer = CustomerFactory()
    request = _request(customer, "correct", manager)
    with pytest.raises(ValidationError):
        privacy_request_answer(request=request, actor=manager, answer="  ")
    privacy_request_answer(request=request, actor=manager, answer="地址已更正")
    request.refresh_from_db()
    assert request.answer == "地址已更正" and request.answered_by == manager
    assert TimelineEvent.objects.filter(customer=customer, kind="privacy.answered").exists()
    with pytest.raises(ValidationError):
        privacy_request_answer(request=request, actor=manager, answer="再次")


def test_a_complaint_keeps_its_record_but_not_the_customers_words():
    manager = UserFactory(roles=["service_manager"])
    customer = CustomerFactory()
    complaint = complaint_open(
        customer=customer,
        actor=manager,
        source="desk",
        category="quality",
        description="韩梅梅说刹车异响",
    )
    privacy_request_delete(request=_request(customer, "delete", manager), actor=manager)
    complaint = Complaint.objects.get(pk=complaint.pk)
    assert complaint.number and "刹车" not in complaint.description
    assert not complaint.history.filter(description__contains="刹车").exists()
    assert Message.objects.filter(customer=customer).exclude(body="").count() == 0
