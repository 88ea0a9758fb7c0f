"""Contacts, groups and segments through the HTTP API."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.db import session_scope
from richsms.settings import Settings
from sender.delivery.models import Message
from sender.delivery.outbox import NewMessage, enqueue
from tests.clock import FrozenClock
from tests.web.test_crash_durability import free_port, start_server

CSV = {"Content-Type": "text/csv"}


def import_csv(api: TestClient, data: bytes, **params: str) -> dict[str, object]:
    response = api.post("/api/contacts/import", content=data, headers=CSV, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_import_a_latin1_file_with_a_bad_row(api: TestClient) -> None:
    data = (
        "Téléphone;Prénom;Ville\n"
        "06 12 34 56 78;Hélène;Besançon\n"
        "12345;Bob;Paris\n"
        "0612345678;;Lyon\n"
        "+33 7 51 23 45 67;Zoé;Nîmes\n"
    ).encode("latin-1")
    body = import_csv(api, data)
    url = body.pop("rejected_url")
    assert body == {
        "imported": 2,
        "updated": 0,
        "rejected": [{"row": 3, "reason": "not a valid number for FR: 12345"}],
        "rejected_count": 1,
        "rows": 4,
        "duplicates": 1,
    }
    assert isinstance(url, str) and url.startswith("/api/contacts/imports/")
    assert api.get(url).text == "\ufeffrow,reason\r\n3,not a valid number for FR: 12345\r\n"
    again = import_csv(api, b"phone,ville\n0612345678,Paris\n")
    assert (again["imported"], again["updated"]) == (0, 1)


def test_the_region_query_reads_national_numbers(api: TestClient) -> None:
    assert import_csv(api, b"phone\n0470 12 34 56\n", region="BE")["imported"] == 1
    bad = api.post("/api/contacts/import", content=b"phone\n1\n", headers=CSV,
                   params={"region": "XX"})  # fmt: skip
    assert bad.status_code == 422
    assert "unknown region" in bad.json()["error"]["message"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"name,email\nLea,lea@example.com\n", "the file has no phone column"),
        (b'phone,name\n0612345678,"Lea\n', "a quote is left open"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "contains binary data"),
    ],
)
def test_malformed_csv_is_a_clear_422(api: TestClient, data: bytes, message: str) -> None:
    response = api.post("/api/contacts/import", content=data, headers=CSV)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert message in error["message"]


def test_the_import_wants_csv(api: TestClient) -> None:
    response = api.post("/api/contacts/import", json={"phone": "0612345678"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_the_import_needs_a_token(client: TestClient) -> None:
    response = client.post("/api/contacts/import", content=b"phone\n", headers=CSV)
    assert response.status_code == 401


def test_a_contact_with_its_history(api: TestClient, engine: Engine, clock: FrozenClock) -> None:
    import_csv(
        api,
        "phone,first_name,city,source,consent_type\n0612345678,Léa,Lyon,salon,express\n".encode(),
    )
    clock.advance(timedelta(minutes=1))
    assert api.post("/api/inbound", json={"from": "0612345678", "text": "STOP"}).status_code == 200
    with session_scope(engine) as session:
        promo = NewMessage(phone="+33612345678", text="Promo", type="promotional", contact_id=1)
        sent = enqueue(session=session, message=promo, now=clock.now())
        message: Message | None = session.get(Message, sent.id)
        assert message is not None
        message.state, message.sent_at = "sent", clock.now() + timedelta(seconds=2)
    body = api.get("/api/contacts/1").json()
    assert (body["phone"], body["first_name"], body["fields"]) == (
        "+33612345678",
        "Léa",
        {"city": "Lyon"},
    )
    assert (body["status"], body["opted_out_via"]) == ("opted_out", "keyword:STOP")
    assert body["timezones"] == ["Europe/Paris"]
    assert [(e["kind"], e["source"]) for e in body["consent_history"]] == [
        ("express", "salon"),
        ("opt_out", "keyword:STOP"),
    ]
    confirmation, promo = body["messages"]
    assert confirmation["type"] == "administrative" and confirmation["state"] == "queued"
    assert promo["text"] == "Promo" and promo["state"] == "sent"
    assert promo["times"] == {
        "planned": "2026-11-24T12:01:00Z",
        "queued": "2026-11-24T12:01:00Z",
        "sent": "2026-11-24T12:01:02Z",
    }
    (inbound,) = body["inbound"]
    assert (inbound["text"], inbound["keyword"]) == ("STOP", "STOP")


def test_an_unknown_contact_is_404(api: TestClient) -> None:
    response = api.get("/api/contacts/42")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no contact with id 42"


def test_groups_dedupe_their_members(api: TestClient) -> None:
    import_csv(api, b"phone\n0612345678\n0751234567\n")
    created = api.post("/api/groups", json={"name": "VIP"})
    assert created.status_code == 201
    group = created.json()
    assert group["name"] == "VIP"
    members = f"/api/groups/{group['id']}/members"
    body = api.post(
        members, json={"contact_ids": [1, 1, 99], "phones": ["06 12 34 56 78", "+33700000000"]}
    ).json()
    assert body == {
        "added": 1,
        "already_members": 0,
        "unknown_contact_ids": [99],
        "unknown_phones": ["+33700000000"],
    }
    again = api.post(members, json={"phones": ["0751234567", "0612345678"]}).json()
    assert (again["added"], again["already_members"]) == (1, 1)
    assert api.post("/api/groups", json={"name": "VIP"}).status_code == 409
    assert api.post("/api/groups/99/members", json={"contact_ids": [1]}).status_code == 404
    assert api.post(members, json={"contact_ids": ["x"]}).status_code == 422


def test_segments_count_what_matches_now(api: TestClient) -> None:
    import_csv(
        api,
        b"phone;langue;ville\n0612345678;fr;Paris\n+447911123456;;Paris\n0751234567;fr;Lyon\n"
,
    )  # fmt: skip
    created = api.post(
        "/api/segments",
        json={
            "name": "Parisiens francophones",
            "filters": [
                {"field": "fields.ville", "op": "eq", "value": "Paris"},
                {"field": "language", "op": "eq", "value": "FR"},
            ],
        },
    )
    assert created.status_code == 201
    segment = created.json()
    assert segment["filters"][1] == {"field": "language", "op": "eq", "value": "fr"}
    count = api.get(f"/api/segments/{segment['id']}/count").json()
    # Imported without consent: subscribed, but no promotional message may reach her.
    assert count == {
        "id": segment["id"],
        "contacts": 1,
        "subscribed": 0,
        "unconsented": 1,
        "opted_out": 0,
    }
    api.post("/api/inbound", json={"from": "+33612345678", "text": "stop"})
    import_csv(api, b"phone;langue;ville;consent_type\n0612345670;fr;Paris;express\n")
    count = api.get(f"/api/segments/{segment['id']}/count").json()
    assert (count["contacts"], count["subscribed"], count["unconsented"]) == (2, 1, 0)
    assert count["opted_out"] == 1
    assert api.get("/api/segments/99/count").status_code == 404


def test_invalid_segments_say_which_condition(api: TestClient) -> None:
    response = api.post(
        "/api/segments",
        json={
            "name": "x",
            "filters": [
                {"field": "language", "op": "eq", "value": "fr"},
                {"field": "redeemed", "op": "eq", "value": True},
            ],
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_filter"
    assert error["message"].startswith("filters[1]: ")
    assert "coupons do not exist yet" in error["message"]


def test_the_routes_are_documented(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/api/contacts/import",
        "/api/contacts/{contact_id}",
        "/api/groups",
        "/api/groups/{group_id}/members",
        "/api/segments",
        "/api/segments/{segment_id}/count",
    ):
        assert path in paths, path


def test_a_file_with_thousands_of_columns_is_a_clear_422(api: TestClient) -> None:
    header = ",".join(["phone"] + ["a"] * 8_000)
    response = api.post(
        "/api/contacts/import", content=f"{header}\n0612345678\n".encode(), headers=CSV
    )
    assert response.status_code == 422
    assert "at most 200 are kept per contact" in response.json()["error"]["message"]
    assert api.get("/api/contacts").json()["contacts"] == []


def test_rejected_rows_are_counted_the_first_shown_and_all_downloadable(
    api: TestClient,
) -> None:
    # 5,000 bad rows, then a Canadian number without +1 and one with it: its hint, found
    # once the whole file is read, is in the file as it would be in the answer's rows.
    rows = ["1"] * 5_000 + ["6045558762", "+1 514 555 2420"]
    body = import_csv(api, ("phone\n" + "\n".join(rows) + "\n").encode())
    assert (body["rows"], body["imported"], body["rejected_count"]) == (5_002, 1, 5_001)
    shown = body["rejected"]
    assert isinstance(shown, list) and len(shown) == 100
    assert shown[0] == {"row": 2, "reason": "not a valid number for FR: 1"}
    download = api.get(str(body["rejected_url"]))
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["cache-control"] == "private, no-store"
    lines = download.text.lstrip("\ufeff").splitlines()
    assert len(lines) == 1 + 5_001 and lines[1] == "2,not a valid number for FR: 1"
    assert lines[-1].startswith("5002,not a valid number for FR: 6045558762")
    assert "did you mean +16045558762 (CA)?" in lines[-1]
    # Without the token, or for a report that is not one: refused.
    api.headers.pop("Authorization")
    assert api.get(str(body["rejected_url"])).status_code == 401
    api.headers["Authorization"] = "Bearer x"
    missing = api.get("/api/contacts/imports/AAAAAAAAAAAAAAAAAAAAAA/rejected.csv")
    assert missing.status_code in (401, 404)


def _group_of(pid: int) -> list[int]:
    """The processes of `pid`'s process group (the server and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[2]) == pid:
                found.append(int(entry.name))
    return found


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def test_a_10_mb_file_of_bad_rows_grows_the_server_by_less_than_100_mb(
    settings: Settings,
    engine: Engine,
    clock: FrozenClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real `richsms serve`: its peak resident memory during the import, less what it
    held before, stays under 100 MB; the answer is small and every rejected row is in the
    report on disk."""
    with session_scope(engine) as session:
        token = create_token(session=session, name="importer", clock=clock)
    monkeypatch.setenv("RICHSMS_IMPORT_REPORTS_DIR", str(tmp_path / "reports"))
    row = "1," + "x" * 150 + "\n"
    count = (10_000_000 - 11) // len(row)
    data = ("phone,note\n" + row * count).encode()
    port = free_port()
    server = start_server(settings, port, tmp_path / "server.log")
    try:
        processes = _group_of(server.pid)
        before = {pid: _kib(pid, "VmRSS") for pid in processes}
        for pid in processes:  # the peak (VmHWM) counted from here
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600,
                          headers={"Authorization": f"Bearer {token}"}) as http:
            answer = http.post("/api/contacts/import", content=data,
                               headers={"content-type": "text/csv"})
            assert answer.status_code == 200, answer.text
            growth = max(_kib(pid, "VmHWM") - before[pid] for pid in processes)
            body = answer.json()
            assert (body["rows"], body["imported"], body["rejected_count"]) == (count, 0, count)
            assert len(body["rejected"]) == 100 and len(answer.content) < 50_000
            report = http.get(body["rejected_url"])
            assert report.text.count("\n") == count + 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert growth < 100 * 1024, f"the server grew by {growth // 1024} MB"
