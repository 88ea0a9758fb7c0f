"""No request may stall the short links: while the worst templates run through the API,
redirects are answered (302, click stored) and /healthz stays up.

Real threads against one app: the bad requests run in the server's thread pool, the
redirects and health checks go through the event loop and the click writer meanwhile.
No timing is asserted: the bad requests end with a 422, and redirects complete while
they are still being sent.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.clock import FrozenClock
from richsms.db import session_scope
from sender.models import Contact, ContactGroup, GroupMember

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
