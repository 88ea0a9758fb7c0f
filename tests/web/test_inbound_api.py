"""`POST /api/inbound`: what a provider or a test harness hands over."""

from __future__ import annotations

from starlette.testclient import TestClient

from sender.delivery.inbound import HELP_REPLY, OPT_IN_REPLY, OPT_OUT_REPLY


def test_stop_start_help_and_a_reply(api: TestClient) -> None:
    api.post(
        "/api/contacts/import", content=b"phone\n0612345678\n", headers={"Content-Type": "text/csv"}
    )
    stop = api.post("/api/inbound", json={"from": "+33612345678", "to": "36180", "text": "Arrêt"})
    assert stop.status_code == 200
    body = stop.json()
    assert (body["action"], body["reply"], body["keyword"]) == (
        "opt_out",
        OPT_OUT_REPLY["fr"],
        "ARRET",
    )
    assert body["contact_id"] == 1
    start = api.post("/api/inbound", json={"from": "06 12 34 56 78", "text": "start"}).json()
    assert (start["action"], start["reply"]) == ("opt_in", OPT_IN_REPLY["fr"])
    help_ = api.post("/api/inbound", json={"from": "+447911123456", "text": "HELP"}).json()
    assert (help_["action"], help_["reply"], help_["contact_id"]) == (
        "help",
        HELP_REPLY["en"],
        None,
    )
    other = api.post("/api/inbound", json={"from": "+33612345678", "text": "Merci !"}).json()
    assert (other["action"], other["reply"], other["campaign_id"]) == ("reply", None, None)


def test_stop_from_an_unknown_number(api: TestClient) -> None:
    body = api.post("/api/inbound", json={"from": "+33751234567", "text": "STOP"}).json()
    assert body["action"] == "opt_out" and body["contact_id"] == 1
    contact = api.get("/api/contacts/1").json()
    assert (contact["phone"], contact["status"]) == ("+33751234567", "opted_out")


def test_bad_inbound_bodies(api: TestClient) -> None:
    missing = api.post("/api/inbound", json={"text": "STOP"})
    assert missing.status_code == 422
    assert "from" in missing.json()["error"]["message"]
    not_a_number = api.post("/api/inbound", json={"from": "hello", "text": "STOP"})
    assert not_a_number.status_code == 422
    assert "not a valid number" in not_a_number.json()["error"]["message"]
    assert (
        api.post("/api/inbound", json={"from": "+33612345678", "text": "x" * 2001}).status_code
        == 422
    )
    assert "/api/inbound" in api.get("/openapi.json").json()["paths"]
