"""The inbox: replies no choice or keyword answered wait for a person, who answers them
(an SMS from the number the customer wrote to, under the usual consent rules) or closes
them; either takes them off the list, with who and when."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.db import read_session, session_scope
from sender.delivery.models import InboundMessage
from sender.delivery.senders import create_sender
from sender.delivery.worker import Worker
from tests.clock import FrozenClock
from tests.sender.delivery.test_choice_replies import (
    ALICE,
    FRANCOIS,
    MARIE,
    outbox,
    reply,
    sent_campaign,
    worker,  # noqa: F401  (the fixture)
)
from tests.web.test_ui import (
    csrf,
    marketer,  # noqa: F401  (the signed-in fixture)
)

SHORT_CODE = "36180"


def waiting(api: TestClient) -> list[dict[str, Any]]:
    listed = api.get("/api/inbound/waiting")
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()["messages"]
    return found


def test_a_reply_is_answered_from_the_number_it_was_sent_to_and_leaves_the_list(
    api: TestClient, app: Any, engine: Engine, clock: FrozenClock, worker: Worker  # noqa: F811
) -> None:
    with session_scope(engine) as session:
        create_sender(session=session, clock=clock, kind="short_code", value=SHORT_CODE,
                      rate=10, allowed_types=["informational", "administrative"])  # fmt: skip
    sent_campaign(api, app, clock, worker, choices={}, unmatched=None)
    # No choice offered: a question is kept for a person, a keyword still acts.
    question = reply(api, MARIE, "Vous êtes ouverts dimanche ?", to=SHORT_CODE)
    assert (question["action"], question["reply"]) == ("reply", None)
    assert reply(api, FRANCOIS, "STOP", to=SHORT_CODE)["action"] == "opt_out"
    assert [m["text"] for m in waiting(api)] == ["Vous êtes ouverts dimanche ?"]
    inbound_id = question["inbound_id"]

    answered = api.post(
        f"/api/inbound/{inbound_id}/answer", json={"text": "Oui, de 10h à 13h. Bon dimanche !"}
    )
    assert answered.status_code == 202, answered.text
    sent = outbox(engine, MARIE)[-1]
    assert (sent.id, sent.text, sent.type) == (
        answered.json()["id"], "Oui, de 10h à 13h. Bon dimanche !", "informational"
    )
    assert sent.sender == SHORT_CODE  # the conversation stays on the number she wrote to
    assert worker.run_once() == 2  # the answer, and François's opt-out confirmation
    assert outbox(engine, MARIE)[-1].state == "sent"
    assert waiting(api) == []
    with read_session(engine) as session:
        stored = session.get(InboundMessage, inbound_id)
        assert stored is not None
        assert (stored.handled_at, stored.answer_message_id) == (clock.now(), sent.id)
        assert stored.handled_by is not None
    # The conversation goes on: a handled reply may be answered again.
    again = api.post(f"/api/inbound/{inbound_id}/answer", json={"text": "Et le lundi aussi."})
    assert again.status_code == 202, again.text


def test_bad_answers_are_refused_and_send_nothing(
    api: TestClient, app: Any, engine: Engine, clock: FrozenClock, worker: Worker  # noqa: F811
) -> None:
    sent_campaign(api, app, clock, worker, choices={}, unmatched=None)
    question = reply(api, ALICE, "Do you ship to Canada?")["inbound_id"]
    stop = reply(api, FRANCOIS, "STOP")["inbound_id"]
    before = len(outbox(engine, ALICE))
    for inbound_id, body, status in (
        (question, {"text": ""}, 422),
        (question, {"text": "   "}, 422),
        (question, {"text": "x" * 1601}, 422),
        (question, {"text": "ok", "type": "promotional"}, 422),
        (stop, {"text": "Sorry to see you go"}, 404),  # a keyword acted: nothing to answer
        (999_999, {"text": "hello"}, 404),
    ):
        refused = api.post(f"/api/inbound/{inbound_id}/answer", json=body)
        assert refused.status_code == status, (body, refused.text)
    assert len(outbox(engine, ALICE)) == before
    # Someone who opted out since is not written to, even in a conversation.
    late = reply(api, MARIE, "C'est quoi ce message ?")["inbound_id"]
    reply(api, MARIE, "STOP")
    refused = api.post(f"/api/inbound/{late}/answer", json={"text": "Une offre."})
    assert refused.status_code == 409, refused.text
    assert "opted" in refused.json()["error"]["message"]
    assert [m["id"] for m in waiting(api)] == [late, question]


def test_the_ui_inbox_answers_and_closes(
    api: TestClient,
    app: Any,
    engine: Engine,
    clock: FrozenClock,
    worker: Worker,  # noqa: F811
    marketer: TestClient,  # noqa: F811
) -> None:
    sent_campaign(api, app, clock, worker)  # choices OUI / NON
    unmatched = reply(api, MARIE, "peut-être")["inbound_id"]
    other = reply(api, ALICE, "what is this about?")["inbound_id"]
    page = marketer.get("/ui/inbound/review")
    assert page.status_code == 200
    shown = html.unescape(page.text)
    assert "peut-être" in shown and "what is this about?" in shown
    token = csrf(page.text)
    # Without the form's token, nothing happens.
    forged = marketer.post(f"/ui/inbound/{unmatched}/close", data={})
    assert forged.status_code == 403
    answered = marketer.post(
        f"/ui/inbound/{unmatched}/answer",
        data={"csrf": token, "text": "Dites-nous OUI ou NON, Marie."},
        follow_redirects=False,
    )
    assert answered.status_code == 303, answered.text
    assert outbox(engine, MARIE)[-1].text == "Dites-nous OUI ou NON, Marie."
    closed = marketer.post(
        f"/ui/inbound/{other}/close", data={"csrf": token}, follow_redirects=True
    )
    assert closed.status_code == 200
    assert "Reply closed." in closed.text
    assert "No reply waiting." in closed.text
    assert waiting(api) == []
    # Closing again keeps the first closing.
    first = api.post(f"/api/inbound/{other}/close").json()["handled_at"]
    assert api.post(f"/api/inbound/{other}/close").json()["handled_at"] == first
    assert re.search(r"/ui/inbound/\d+/answer", closed.text) is None
