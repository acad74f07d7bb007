"""Fault drills for the desk's pages, with real servers that the drills stop and start.

- Redis stopped while an advisor checks cars in and a cashier settles: every page works
  (gunicorn, DEBUG off), nothing is lost, and the customer's ready notice goes out once
  Redis is back.
- PostgreSQL restarted under a request in flight (a booked check-in that has written the
  visit and waits for the booking's row): that request gets a clear 503 page and leaves no
  half-written visit; web, worker and beat recover without a restart of their own.
- Two people on the same visit / work order, one after the other or at the same moment:
  the second save is refused with a message, nothing of the first is overwritten.
- Disk full while a walk-around photo or signature is saved: the error shows next to the
  field in the user's language, no row and no partial file are left.

The worker killed mid-task (done once later) and the due tasks through a Redis outage
are drilled in `tests/test_due_drills.py`. Redis and PostgreSQL here are private servers
on their own ports (`tests/fault_stack.py`), never the shared ones.
"""

import html
import io
import os
import re
import shutil
import threading
import time
from datetime import timedelta

import pytest
import redis
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.urls import reverse
from PIL import Image

from dealership.models import DueTask, Message
from dealership.tests.factories import VehicleFactory
from delivery.duties import READY_NOTICE
from delivery.selectors import bill_for
from delivery.tests.factories import checked_visit, qc_passed_visit, staff
from reception.models import DamageMark, Visit
from reception.tests.factories import WalkedAroundVisitFactory, signature_data_url
from tests.due_workers import process_env, start_beat, start_redis, start_worker, wait_until
from tests.fault_stack import (
    CannotMount,
    FullDisk,
    PrivatePostgres,
    WebSession,
    drill_port,
    form_fields,
    pg_bin,
    start_web,
)

pytestmark = [pytest.mark.drill, pytest.mark.timeout(180)]

State = DueTask.State


@pytest.fixture
def procs(transactional_db, tmp_path, require_postgres):
    """Processes a drill starts; all stopped before the test database is flushed."""
    started = []

    class Procs:
        dir = tmp_path

        def track(self, proc):
            started.append(proc)
            return proc

    yield Procs()
    for proc in reversed(started):
        proc.stop()


def _dispatch_every_2s() -> None:
    """Beat's due-task dispatcher every 2 s instead of every minute."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_2s, _ = IntervalSchedule.objects.get_or_create(every=2, period="seconds")
    PeriodicTask.objects.update_or_create(
        name="Dispatch due tasks every minute",
        defaults={"task": "dealership.dispatch_due_tasks", "interval": every_2s, "enabled": True},
    )


def _open_page(session: WebSession, path: str, *, budget: float = 10.0):
    started = time.monotonic()
    response = session.get(path)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, f"{path}: {response.status_code}\n{response.text[:2000]}"
    assert elapsed < budget, f"{path} took {elapsed:.1f}s"
    return response


# ---------------------------------------------------------------- Redis stopped


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs the redis-server program")
def test_redis_stopped_during_check_in_and_settlement(procs):
    advisor = staff("advisor")
    cashier = staff("cashier")
    walk_in = VehicleFactory()
    to_ready, _ = qc_passed_visit(advisor=advisor, promised_in=timedelta(minutes=30))
    to_settle, _ = checked_visit(advisor=advisor)
    due = bill_for(to_settle).customer_total
    colleague = staff("advisor")
    shared = WalkedAroundVisitFactory(advisor=advisor)

    port = drill_port(0)
    url = f"redis://127.0.0.1:{port}/0"
    redis_server = procs.track(start_redis(port, procs.dir))
    env = process_env(broker_url=url, MEDIA_ROOT=str(procs.dir / "media"))
    env["DUE_TASK_RECLAIM_AFTER_SECONDS"] = "5"
    web = procs.track(start_web(env=env, log_dir=procs.dir, port=drill_port(1)))
    procs.track(start_worker("fault-redis", env=env, log_dir=procs.dir, concurrency=2))
    _dispatch_every_2s()
    procs.track(start_beat(env=env, log_dir=procs.dir))

    redis_server.stop()  # Redis gone: cache, broker, beat's dispatch all without it

    desk = WebSession(web.base_url)
    desk.login(advisor.username)  # the log-in lock-out counter lives in the cache
    check_in = f"{reverse('reception:check_in')}?vehicle={walk_in.pk}"
    page = _open_page(desk, check_in)
    fields = form_fields(page.text, "")
    fields["concern_text"] = "冷车启动有异响"
    response = desk.post(check_in, fields)
    assert response.status_code == 302, response.text[:2000]
    visit = Visit.objects.get(vehicle=walk_in)
    assert response.headers["Location"] == reverse("reception:walkaround", args=[visit.pk])
    _open_page(desk, response.headers["Location"])
    _open_page(desk, reverse("reception:on_site"))

    response = desk.post(reverse("delivery:ready", args=[to_ready.pk]), {})
    assert response.status_code == 302, response.text[:2000]
    notice = DueTask.objects.get(kind=READY_NOTICE, subject_id=to_ready.pk)
    assert notice.state == State.PENDING

    till = WebSession(web.base_url)
    till.login(cashier.username)
    settle = reverse("delivery:settle", args=[to_settle.pk])
    page = _open_page(till, reverse("delivery:visit", args=[to_settle.pk]))
    fields = form_fields(page.text, settle)
    fields["cash_amount"] = str(due)
    response = till.post(settle, fields)
    assert response.status_code == 302, response.text[:2000]
    to_settle.refresh_from_db()
    assert to_settle.status == "settled" and to_settle.settlements.count() == 1
    _open_page(till, reverse("delivery:cashier"))

    # Two advisors save the same walk-around at the same moment (two gunicorn workers).
    _same_moment_saves(web.base_url, shared, (advisor, colleague))

    # A customer books online: the self-service attempt counter lives in the cache too.
    customer = WebSession(web.base_url)
    book = reverse("appointments:self_book")
    fields = form_fields(_open_page(customer, book).text, "")
    fields.update(plate=walk_in.plate, mobile=walk_in.owner.mobile)
    response = customer.post(book, fields)
    assert response.status_code == 302, response.text[:2000]
    _open_page(customer, response.headers["Location"])

    time.sleep(3)  # beat and worker run into the outage: nothing goes out, nothing is lost
    notice.refresh_from_db()
    assert notice.state == State.PENDING
    assert not Message.objects.filter(due_task=notice).exists()
    assert "Internal Server Error" not in web.output()

    procs.track(start_redis(port, procs.dir))  # back, and empty
    wait_until(
        lambda: Message.objects.filter(due_task=notice).exists(),
        timeout=60,
        what="the ready notice after the outage",
    )
    time.sleep(1)
    notice.refresh_from_db()
    assert notice.state == State.DONE
    message = Message.objects.get(due_task=notice)
    assert (message.template, message.customer_id) == ("delivery_ready", to_ready.customer_id)
    # The cache works again for the pages.
    assert redis.Redis.from_url(url).ping()
    _open_page(desk, reverse("reception:on_site"))


def _same_moment_saves(base_url: str, visit: Visit, people) -> None:
    """Both open the page, both send at once: one save wins, the other is told, none is lost."""
    page_url = reverse("reception:walkaround", args=[visit.pk])
    sessions, forms = [], []
    for n, person in enumerate(people):
        session = WebSession(base_url)
        session.login(person.username)
        form = form_fields(_open_page(session, page_url).text, page_url)
        form["odometer_km"] = str(50_000 + n)
        sessions.append(session)
        forms.append(form)
    start = threading.Barrier(len(people))
    answers = {}

    def send(n):
        start.wait()
        answers[n] = sessions[n].post(page_url, forms[n])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(people))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    codes = sorted(answer.status_code for answer in answers.values())
    assert codes == [302, 400], codes
    (winner,) = [n for n, answer in answers.items() if answer.status_code == 302]
    (loser,) = [n for n, answer in answers.items() if answer.status_code == 400]
    assert "刷新页面" in answers[loser].text  # "reload the page", in the user's language
    visit.refresh_from_db()
    assert visit.odometer_km == 50_000 + winner
    assert visit.version == int(forms[0]["version"]) + 1


# ---------------------------------------------------------------- PostgreSQL restarted


@pytest.fixture
def private_postgres():
    if not pg_bin("initdb") or not pg_bin("pg_ctl"):
        pytest.skip("needs the PostgreSQL server programs (initdb, pg_ctl)")
    server = PrivatePostgres(drill_port(2))
    yield server
    server.destroy()


def _booked_appointment(advisor):
    """An appointment booked through the service, on the first day ahead with room."""
    from appointments.services import appointment_book
    from appointments.tests.factories import days_ahead, local, make_vehicle, make_workshop

    workshop = make_workshop()
    vehicle = make_vehicle()
    for day in range(1, 8):
        try:
            return appointment_book(
                customer=vehicle.owner,
                vehicle=vehicle,
                start=local(days_ahead(day), 10),
                operations=[workshop["oil"]],
                actor=advisor,
            )
        except ValidationError:
            continue
    raise AssertionError("no day in the coming week takes a booking")


def _count(db, sql: str, *params) -> int:
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_postgres_restart_fails_requests_in_flight_cleanly_and_the_web_recovers(
    procs, private_postgres, settings
):
    advisor = staff("advisor")
    appointment = _booked_appointment(advisor)
    vehicle = appointment.vehicle
    to_ready, _ = qc_passed_visit(advisor=advisor, promised_in=timedelta(minutes=30))
    _dispatch_every_2s()
    database_url = private_postgres.copy_of_test_database("drill")
    redis_port = drill_port(4)
    procs.track(start_redis(redis_port, procs.dir))
    env = process_env(
        broker_url=f"redis://127.0.0.1:{redis_port}/0",
        DATABASE_URL=database_url,
        VAR_DIR=str(procs.dir / "var"),
    )
    web = procs.track(start_web(env=env, log_dir=procs.dir, port=drill_port(3), workers=2))
    # Worker and beat hold their own connections through the restart as well.
    procs.track(start_worker("fault-pg", env=env, log_dir=procs.dir, concurrency=2))
    beat = procs.track(start_beat(env=env, log_dir=procs.dir))
    # Beat up and dispatching before the restart (one that boots into the restart exits,
    # and a supervisor would start it again: not what this drill is about).
    beat.wait_for_output("Sending due task", timeout=60)

    desk = WebSession(web.base_url)
    desk.login(advisor.username)
    check_in = f"{reverse('reception:check_in')}?appointment={appointment.pk}"
    fields = form_fields(_open_page(desk, check_in).text, "")
    fields["concern_text"] = "仪表盘故障灯亮"
    for _ in range(6):  # both gunicorn workers now hold a database connection
        _open_page(desk, reverse("reception:on_site"))

    # A request in flight, half-way: the check-in has written the visit and waits for the
    # booking's row (to mark it arrived), which we hold locked.
    holder = private_postgres.connect("drill")
    with holder.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM appointments_appointment WHERE id = %s FOR UPDATE", [appointment.pk]
        )
    answers = []
    in_flight = threading.Thread(target=lambda: answers.append(desk.post(check_in, fields)))
    in_flight.start()
    watcher = private_postgres.connect("drill")
    watcher.autocommit = True
    wait_until(
        lambda: (
            _count(watcher, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type='Lock'")
            == 1
        ),
        timeout=15,
        what="the check-in to wait on the lock",
    )
    wrote_visit = """SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
        WHERE c.relname = 'reception_visit' AND l.mode = 'RowExclusiveLock' AND l.pid IN
        (SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock')"""
    assert _count(watcher, wrote_visit) == 1, "the request in flight has not written yet"
    watcher.close()
    started = time.monotonic()
    private_postgres.restart()
    restarted_in = time.monotonic() - started
    in_flight.join(timeout=30)
    holder.close()

    (failed,) = answers
    assert failed.status_code == 503, failed.text[:2000]
    assert failed.headers["Retry-After"] == "10"
    assert "数据库没有响应" in failed.text  # the user's language (zh-hans), not a traceback
    assert "Traceback" not in failed.text

    db = private_postgres.connect("drill")
    db.autocommit = True
    assert _count(db, "SELECT count(*) FROM reception_visit WHERE vehicle_id = %s", vehicle.pk) == 0
    booked = "SELECT count(*) FROM appointments_appointment WHERE id = %s AND status = %s"
    assert _count(db, booked, appointment.pk, "booked") == 1

    # The same web processes, right after the restart: no request fails on a dead connection.
    for _ in range(8):
        _open_page(desk, reverse("reception:on_site"))
    response = desk.post(check_in, fields)
    assert response.status_code == 302, response.text[:2000]
    assert _count(db, "SELECT count(*) FROM reception_visit WHERE vehicle_id = %s", vehicle.pk) == 1
    assert _count(db, booked, appointment.pk, "arrived") == 1

    # Down for good for a moment: a 503 page at once, then service again when it is back.
    private_postgres.stop()
    down = desk.get(reverse("reception:on_site"))
    assert down.status_code == 503 and "数据库没有响应" in down.text
    assert desk.get(reverse("healthz")).status_code == 503
    private_postgres.start()
    db.close()
    db = private_postgres.connect("drill")
    db.autocommit = True
    _open_page(desk, reverse("reception:on_site"))
    assert desk.get(reverse("healthz")).text == "ok"

    # The same worker and beat, after the restart and the stop: a ready notice still goes out.
    assert desk.post(reverse("delivery:ready", args=[to_ready.pk]), {}).status_code == 302
    sent = """SELECT count(*) FROM dealership_message m JOIN dealership_duetask t
              ON m.due_task_id = t.id WHERE t.kind = %s AND t.subject_id = %s"""
    wait_until(
        lambda: _count(db, sent, READY_NOTICE, to_ready.pk) == 1,
        timeout=60,
        what="the ready notice from the worker after the database restart",
    )
    assert beat.popen.poll() is None
    db.close()
    print(f"\nPostgreSQL restart took {restarted_in:.1f}s; in-flight request: 503")


# ---------------------------------------------------------------- two people, one visit


def _assert_refused_as_stale(response, form_name: str) -> None:
    """400, the form says someone else changed it (in Chinese, on the page), nothing saved."""
    assert response.status_code == 400
    form = response.context[form_name]
    assert form.has_error(NON_FIELD_ERRORS, "stale"), form.errors
    (message,) = form.non_field_errors()
    assert message in html.unescape(response.content.decode())
    assert re.search(r"[\u4e00-\u9fff]", message), message


def test_two_advisors_on_the_same_walkaround_lose_no_update(make_staff):
    from django.test import Client

    first, second = make_staff("advisor"), make_staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=first)
    page_url = reverse("reception:walkaround", args=[visit.pk])
    sessions = []
    for person in (first, second):
        browser = Client()
        browser.force_login(person)
        sessions.append((browser, form_fields(browser.get(page_url).content.decode(), page_url)))
    (a, a_form), (b, b_form) = sessions
    assert a_form["version"] == b_form["version"]

    a_form["odometer_km"] = "42100"
    assert a.post(page_url, a_form).status_code == 302
    b_form["odometer_km"] = "42999"
    b_form["key_tag"] = "K-B"
    response = b.post(page_url, b_form)
    _assert_refused_as_stale(response, "form")
    visit.refresh_from_db()
    assert (visit.odometer_km, visit.key_tag) == (42100, a_form["key_tag"])
    assert str(visit.version) == str(int(a_form["version"]) + 1)

    # Reloaded, the second advisor sees the first one's value and can save theirs.
    reloaded = form_fields(b.get(page_url).content.decode(), page_url)
    assert reloaded["odometer_km"] == "42100"
    reloaded["key_tag"] = "K-B"
    assert b.post(page_url, reloaded).status_code == 302
    visit.refresh_from_db()
    assert (visit.odometer_km, visit.key_tag) == (42100, "K-B")


def test_two_advisors_on_the_same_work_order_lose_no_update(make_staff):
    from django.test import Client

    from delivery.tests.factories import default_lines
    from reception.services import visit_walkaround_sign
    from workorders.services import work_order_start

    first, second = make_staff("advisor"), make_staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=first)
    visit_walkaround_sign(
        visit=visit, actor=first, signature=signature_data_url(), signer_name="张三"
    )
    order = work_order_start(visit=visit, actor=first, lines=default_lines())
    page_url = reverse("workorders:order", args=[order.pk])
    terms_url = reverse("workorders:terms", args=[order.pk])
    a, b = Client(), Client()
    a.force_login(first)
    b.force_login(second)
    a_form = form_fields(a.get(page_url).content.decode(), terms_url)
    b_form = form_fields(b.get(page_url).content.decode(), terms_url)

    a_form["notes"] = "客户要求保留旧件"
    assert a.post(terms_url, a_form).status_code == 302
    b_form["notes"] = "客户下午三点取车"
    response = b.post(terms_url, b_form)
    _assert_refused_as_stale(response, "terms_form")
    order.refresh_from_db()
    assert order.notes == "客户要求保留旧件"


# ---------------------------------------------------------------- disk full


@pytest.fixture
def full_media(settings, tmp_path):
    if not FullDisk.available():
        pytest.skip("needs root to mount a small tmpfs for the full disk")
    try:
        disk = FullDisk(tmp_path / "media")
    except CannotMount as exc:  # e.g. a container without CAP_SYS_ADMIN
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    settings.MEDIA_ROOT = str(disk.path)
    yield disk
    disk.unmount()


def _photo(size: int = 256) -> io.BytesIO:
    """A PNG of noise: even re-encoded as JPEG it does not fit in the 8 kB left."""
    image = Image.frombytes("RGB", (size, size), os.urandom(size * size * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "scratch.png"
    return buffer


def test_disk_full_photo_and_signature_are_refused_next_to_the_field(full_media, make_staff):
    from django.test import Client

    advisor = make_staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=advisor)
    desk = Client()
    desk.force_login(advisor)
    assert full_media.free_space() < 20_000

    # A damage mark with its photo.
    photo = _photo()
    damage = {"kind": "scratch", "x": "30", "y": "40", "note": "左前门划痕", "photo": photo}
    response = desk.post(reverse("reception:damage_add", args=[visit.pk]), damage)
    assert response.status_code == 400
    form = response.context["damage_form"]
    assert list(form.errors) == ["photo"]
    assert "服务器磁盘已满" in form.errors["photo"][0]
    assert "服务器磁盘已满" in response.content.decode()
    assert not DamageMark.objects.filter(visit=visit).exists()
    assert full_media.files() == [], "a partly written photo was left on the disk"

    # The customer's signature on the walk-around (a few kB: the disk is now full to the byte).
    full_media.fill_up()
    version = visit.version
    sign_url = reverse("reception:walkaround_sign", args=[visit.pk])
    signature = {"signer_name": "张三", "signature": signature_data_url(), "version": version}
    response = desk.post(sign_url, signature)
    assert response.status_code == 400
    form = response.context["signature_form"]
    assert list(form.errors) == ["signature"]
    assert "服务器磁盘已满" in form.errors["signature"][0]
    html = response.content.decode()
    pad = html[html.index('id="field-signature"') :]
    assert "服务器磁盘已满" in pad[: pad.index("</form>")], "not next to the signature pad"
    visit.refresh_from_db()
    assert (visit.walkaround_signed_at, visit.walkaround_signature.name, visit.version) == (
        None,
        "",
        version,
    )
    assert full_media.files() == []

    # Room again: the same input goes through, nothing was left behind by the refusals.
    full_media.make_room()
    photo.seek(0)
    response = desk.post(reverse("reception:damage_add", args=[visit.pk]), damage)
    assert response.status_code == 302
    mark = DamageMark.objects.get(visit=visit)
    assert mark.photo.size > 8192  # more than the room there was: the refusal was real
    assert desk.post(sign_url, signature).status_code == 302
    visit.refresh_from_db()
    assert visit.walkaround_signed_at is not None
    assert len(full_media.files()) == 2
