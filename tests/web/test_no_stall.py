"""No request may stall the short links: while the worst templates run through the API,
redirects are answered (302, click stored) and /healthz stays up.

Real threads against one app: the bad requests run in the server's thread pool, the
redirects and health checks go through the event loop and the click writer meanwhile.
No timing is asserted: the bad requests end with a 422, and redirects complete while
they are still being sent.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import signal
import threading
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.db import session_scope
from richsms.settings import Settings
from sender.audience.models import Contact, ContactGroup, GroupMember
from shortener.codes import CodeMaker
from shortener.links import LinkSpec, create_links
from shortener.models import Click
from tests.clock import FrozenClock
from tests.web.test_crash_durability import free_port, start_server

NESTED = "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% endfor %}{% endfor %}"
NESTED_PRINTING = "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{{ b }}{% endfor %}{% endfor %}"
HUGE = "{{ 'a'|center(20000000) }}{{ 'a'.ljust(20000000) }}"


def audience(engine: Engine, clock: FrozenClock, count: int) -> int:
    with session_scope(engine) as session:
        group = ContactGroup(name="all", created_at=clock.now())
        session.add(group)
        contacts = [
            Contact(
                phone=f"+3361{n:07d}",
                first_name=f"P{n}",
                consent_type="express",
                created_at=clock.now(),
                updated_at=clock.now(),
            )
            for n in range(1, count + 1)
        ]
        session.add_all(contacts)
        session.flush()
        session.add_all(
            GroupMember(group_id=group.id, contact_id=c.id, added_at=clock.now())
            for c in contacts
        )
        assert group.id is not None
        return group.id


def bad_requests(api: TestClient, group_id: int) -> list[tuple[str, str, dict[str, object]]]:
    inline = [{"first_name": f"p{n}", "language": "fr"} for n in range(2_000)]
    requests: list[tuple[str, str, dict[str, object]]] = []
    for template in (NESTED, NESTED_PRINTING, HUGE):
        requests += [
            ("POST", "/api/sms/analyze", {"text": template}),
            ("POST", "/api/sms/analyze", {"text": template, "audience": {"groups": [group_id]}}),
            ("POST", "/api/sms/analyze", {"text": template, "audience": {"contacts": inline}}),
            ("POST", "/api/messages", {"phone": "+33612345678", "template": template,
                                       "type": "administrative"}),
            ("POST", "/api/campaigns", {"name": "x", "type": "informational",
                                        "template": template, "group_ids": [group_id]}),
        ]  # fmt: skip
    return requests


def test_redirects_and_health_answer_while_runaway_templates_are_refused(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    group_id = audience(engine, clock, 300)
    link = api.post("/api/links", json={"url": "https://shop.example/sale"}).json()
    answers: list[tuple[int, str]] = []
    finished = threading.Event()

    def attack() -> None:
        try:
            for method, path, body in bad_requests(api, group_id):
                answer = api.request(method, path, json=body)
                answers.append((answer.status_code, answer.json()["error"]["code"]))
        finally:
            finished.set()

    attacker = threading.Thread(target=attack)
    attacker.start()
    redirects = health = during = 0
    try:
        while not finished.is_set() or redirects < 3:
            tap = api.get(f"/{link['code']}", follow_redirects=False)
            assert tap.status_code == 302
            redirects += 1
            assert api.get("/healthz").status_code == 200
            health += 1
            during += not finished.is_set()
    finally:
        attacker.join()

    assert answers == [(422, "template_error")] * len(bad_requests(api, group_id))
    assert during >= 1, "no redirect completed while the bad requests were in progress"
    stats = api.get(f"/api/links/{link['code']}/stats").json()
    assert stats["clicks"] == redirects


def test_a_real_server_keeps_answering_links_while_clients_send_runaway_templates(
    settings: Settings, engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    with session_scope(engine) as session:
        token = create_token(session=session, name="attacker", clock=clock)
        (link,) = create_links(
            session=session,
            codes=CodeMaker(settings.secret_key.reveal()),
            clock=clock,
            spec=LinkSpec(url="https://shop.example/sale"),
            contact_ids=[None],
        )
    port = free_port()
    server = start_server(settings, port, tmp_path / "server.log")
    base = f"http://127.0.0.1:{port}"
    answers: list[int] = []
    finished = threading.Event()

    def attack() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
                for text in (NESTED, NESTED_PRINTING, HUGE):
                    answers.append(http.post("/api/sms/analyze", json={"text": text}).status_code)
            # A client that gives up at once: the server stops the render by itself.
            with httpx.Client(base_url=base, headers=headers, timeout=0.01) as impatient:
                with contextlib.suppress(httpx.TimeoutException):
                    impatient.post("/api/sms/analyze", json={"text": NESTED})
        finally:
            finished.set()

    attacker = threading.Thread(target=attack)
    try:
        attacker.start()
        redirects = during = 0
        with httpx.Client(base_url=base, timeout=30) as http:
            while not finished.is_set() or redirects < 3:
                assert http.get(f"/{link.code}").status_code == 302
                assert http.get("/healthz").status_code == 200
                redirects += 1
                during += not finished.is_set()
            attacker.join()
            # After the impatient client left, the server still answers everything.
            assert http.get(f"/{link.code}").status_code == 302
            redirects += 1
    finally:
        attacker.join()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    assert answers == [422] * 3
    assert during >= 1, "no redirect completed while the bad requests were in progress"
    with Session(engine) as session:
        stored = session.execute(select(func.count()).select_from(Click)).scalar_one()
    assert stored == redirects


def held_in_worker(
    monkeypatch: pytest.MonkeyPatch, module: str, name: str
) -> tuple[threading.Event, threading.Event]:
    """`module.name` made to wait, where it runs, until released: (entered, release)."""
    entered, release = threading.Event(), threading.Event()
    owner = importlib.import_module(module)
    real = getattr(owner, name)

    def hold(*args: object, **kwargs: object) -> object:
        entered.set()
        release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, hold)
    return entered, release


def _png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (200, 30, 60)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("held", "request_of", "status"),
    [
        (("landing_templates.viewer", "render_pieces"), "page", 200),
        (("web.bodies", "model_of"), "body", 200),
        (("richsms.processes", "run"), "image", 201),
        (("richsms.processes", "run"), "import", 200),
    ],
    ids=["page view", "json body", "image", "import"],
)
def test_the_heavy_work_of_a_request_runs_off_the_event_loop(
    api: TestClient,
    engine: Engine,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    held: tuple[str, str],
    request_of: str,
    status: int,
) -> None:
    """While a page's render, a body's parsing, an image's resizing or an import is held
    in its worker thread (the image's and the import's hand-over to a worker process),
    redirects and /healthz are answered: nothing of it is on the
    event loop (no timing: the held request cannot finish before it is released)."""
    link = api.post("/api/links", json={"url": "https://shop.example/sale"}).json()
    blocks = [{"type": "heading", "text": "Hello {{ contact.first_name }}"}]
    assert api.post("/api/pages", json={"name": "p", "language": "en", "blocks": blocks}
                    ).status_code == 201
    assert api.post("/api/pages/1/publish").status_code == 200
    with session_scope(engine) as session:
        contact = Contact(phone="+33600000001", first_name="Ada", created_at=clock.now(),
                          updated_at=clock.now())
        session.add(contact)
        session.flush()
        contact_id = contact.id
    page = api.post("/api/links", json={"page_id": 1, "contact_id": contact_id}).json()
    phone_ua = {"user-agent": "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"}
    requests = {
        "page": lambda: api.get(f"/{page['code']}", headers=phone_ua),
        "body": lambda: api.post("/api/sms/analyze", json={"text": "Hello"}),
        "image": lambda: api.post("/api/images", content=_png(64),
                                  headers={"content-type": "image/png"}),
        "import": lambda: api.post("/api/contacts/import", content=b"phone\n+33600000002\n",
                                   headers={"content-type": "text/csv"}),
    }
    entered, release = held_in_worker(monkeypatch, *held)
    answers: list[int] = []
    slow = threading.Thread(target=lambda: answers.append(requests[request_of]().status_code))
    slow.start()
    try:
        assert entered.wait(30), "the request never reached its worker"
        assert api.get(f"/{link['code']}", follow_redirects=False).status_code == 302
        assert api.get("/healthz").status_code == 200
        assert answers == [] and slow.is_alive()  # answered while the heavy one is held
    finally:
        release.set()
        slow.join(60)
    assert answers == [status]


def test_a_heavy_page_is_rendered_in_a_worker_process_from_its_second_view(
    api: TestClient, engine: Engine, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page whose render takes the CPU (a text looping to its budget) is rendered by a
    worker process once one view showed it heavy: the server's process, whose event loop
    answers the short links, no longer renders it; the recipient still gets their page."""
    blocks = [
        {"type": "heading", "text": "Hello {{ contact.first_name }}"},
        {"type": "text", "text": "{{ contact.first_name }} " + NESTED_PRINTING},
    ]
    assert api.post("/api/pages", json={"name": "p", "language": "en", "blocks": blocks}
                    ).status_code == 201
    assert api.post("/api/pages/1/publish").status_code == 200
    with session_scope(engine) as session:
        contact = Contact(phone="+33600000001", first_name="Ada", created_at=clock.now(),
                          updated_at=clock.now())
        session.add(contact)
        session.flush()
        contact_id = contact.id
    page = api.post("/api/links", json={"page_id": 1, "contact_id": contact_id}).json()
    phone_ua = {"user-agent": "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"}
    first = api.get(f"/{page['code']}", headers=phone_ua)
    assert first.status_code == 200 and "Hello Ada" in first.text

    def not_here(*args: object, **kwargs: object) -> object:
        raise AssertionError("a heavy page rendered in the server's process")

    monkeypatch.setattr("landing_templates.viewer.render_pieces", not_here)
    for _ in range(2):
        again = api.get(f"/{page['code']}", headers=phone_ua)
        assert again.status_code == 200 and "Hello Ada" in again.text
