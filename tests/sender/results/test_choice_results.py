"""A campaign's reply choices in its results (stats API and results screen) and as
segment conditions: each choice counted, the unmatched replies, the non-responders, and
a segment of the non-responders to remind."""

from __future__ import annotations

import html
import re
from typing import Any

from starlette.testclient import TestClient

from sender.delivery.worker import Worker
from tests.clock import FrozenClock
from tests.sender.delivery.test_choice_replies import (  # noqa: F401  (the worker fixture)
    ALICE,
    FRANCOIS,
    MARIE,
    reply,
    sent_campaign,
    worker,
)
from tests.web.test_campaigns_api import plan
from tests.web.test_ui import marketer  # noqa: F401  (the signed-in fixture)


def segment_phones(api: TestClient, *filters: dict[str, Any]) -> list[str]:
    created = api.post("/api/segments", json={"name": repr(filters)[:200], "filters": filters})
    assert created.status_code == 201, created.text
    found = api.get(f"/api/contacts?segment={created.json()['id']}")
    assert found.status_code == 200, found.text
    return sorted(c["phone"] for c in found.json()["contacts"])


def test_results_count_each_choice_the_unmatched_and_the_non_responders(
    api: TestClient,
    app: Any,
    clock: FrozenClock,
    worker: Worker,  # noqa: F811
    marketer: TestClient,  # noqa: F811
) -> None:
    campaign_id = sent_campaign(api, app, clock, worker)
    # Someone who never received the campaign is no non-responder.
    api.post("/api/contacts/import", content=b"phone\n+33655555555\n",
             headers={"Content-Type": "text/csv"})  # fmt: skip
    reply(api, MARIE, "Oui merci")
    reply(api, FRANCOIS, "peut-être")
    reply(api, FRANCOIS, "je réfléchis")
    stats = api.get(f"/api/campaigns/{campaign_id}/stats").json()["reply_choices"]
    assert stats == {
        "choices": {"OUI": 1, "NON": 0},
        "responders": 2,
        "unmatched": 1,
        "unmatched_replies": 2,
        "non_responders": 1,
    }
    # Marie changes her mind: her latest answer counts.
    reply(api, MARIE, "non")
    stats = api.get(f"/api/campaigns/{campaign_id}/stats").json()["reply_choices"]
    assert stats["choices"] == {"OUI": 0, "NON": 1}
    screen = html.unescape(marketer.get(f"/ui/campaigns/{campaign_id}").text)
    figures = dict(re.findall(r'data-choice="([^"]+)"><dt>[^<]*</dt><dd>(\d+)</dd>', screen))
    assert figures == {"OUI": "0", "NON": "1", "unmatched": "1", "non-responders": "1"}

    field = f"reply.campaign_{campaign_id}"
    assert segment_phones(api, {"field": field, "op": "eq", "value": "Non"}) == [MARIE]
    assert segment_phones(api, {"field": field, "op": "in", "value": ["oui", "non"]}) == [MARIE]
    assert segment_phones(api, {"field": field, "op": "exists"}) == [MARIE, FRANCOIS]
    # The non-responders, to remind: Alice only.
    assert segment_phones(api, {"field": field, "op": "not_exists"}) == [ALICE]


def test_a_campaign_without_choices_has_no_choice_results(api: TestClient) -> None:
    group = api.post("/api/groups", json={"name": "G"}).json()["id"]
    body = {"name": "C", "type": "informational", "template": "Bonjour", "group_ids": [group]}
    campaign_id = api.post("/api/campaigns", json=body).json()["id"]
    assert api.get(f"/api/campaigns/{campaign_id}/stats").json()["reply_choices"] is None


def test_reply_conditions_are_checked(api: TestClient) -> None:
    def refused(condition: dict[str, Any]) -> str:
        response = api.post("/api/segments", json={"name": "S", "filters": [condition]})
        assert response.status_code == 422, response.text
        message: str = response.json()["error"]["message"]
        return message

    assert "reply.campaign_12" in refused({"field": "reply.campaign_x", "op": "exists"})
    assert "unknown op" in refused({"field": "reply.campaign_1", "op": "gt", "value": "1"})
    assert "takes no value" in refused({"field": "reply.campaign_1", "op": "exists", "value": 1})
    assert "a choice" in refused({"field": "reply.campaign_1", "op": "eq", "value": "?!"})
    assert "list" in refused({"field": "reply.campaign_1", "op": "in", "value": "1"})


def test_a_choice_is_a_merge_field_and_the_non_responders_are_reminded(
    api: TestClient,
    app: Any,
    clock: FrozenClock,
    worker: Worker,  # noqa: F811
) -> None:
    first = sent_campaign(api, app, clock, worker)
    reply(api, MARIE, "oui!")
    reply(api, FRANCOIS, "Non merci")
    field = f"reply.campaign_{first}"

    def campaign_to(filters: dict[str, Any], template: str) -> dict[str, str]:
        """A campaign to a new segment, planned: its text for each recipient."""
        segment = api.post("/api/segments", json={"name": template[:50], "filters": [filters]})
        body = {"name": template[:50], "type": "informational", "template": template,
                "segment_ids": [segment.json()["id"]]}  # fmt: skip
        created = api.post("/api/campaigns", json=body)
        assert created.status_code == 201, created.text
        campaign_id = created.json()["id"]
        assert api.post(f"/api/campaigns/{campaign_id}/send").status_code == 202
        plan(app, clock)
        messages = api.get(f"/api/campaigns/{campaign_id}/messages").json()["messages"]
        return {m["phone"]: m["text"] for m in messages}

    answers = campaign_to(
        {"field": field, "op": "exists"},
        f"{{{{ contact.first_name }}}}, vous avez répondu {{{{ {field} }}}}.",
    )
    assert answers == {MARIE: "Marie, vous avez répondu OUI.",
                       FRANCOIS: "François, vous avez répondu NON."}  # fmt: skip
    reminder = campaign_to(
        {"field": field, "op": "not_exists"},
        f"Rappel : répondez OUI ou NON ({{{{ {field} | default('pas encore de réponse') }}}})",
    )
    assert reminder == {ALICE: "Rappel : répondez OUI ou NON (pas encore de réponse)"}
    # A unitary send reads the answer too; an unknown reply field is refused when saved.
    unitary = api.post("/api/messages", json={
        "phone": MARIE, "type": "informational", "template": f"Noté : {{{{ {field} }}}}",
    })  # fmt: skip
    assert unitary.status_code == 202, unitary.text
    assert unitary.json()["text"] == "Noté : OUI"
    bad = api.post("/api/messages", json={
        "phone": MARIE, "type": "informational", "template": "{{ reply.oui }}",
    })  # fmt: skip
    assert bad.status_code == 422 and "reply.campaign_<id>" in bad.json()["error"]["message"]
