"""`richsms senders ...`, run as an operator runs it: a real subprocess."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from richsms.settings import Settings
from sender.delivery.senders import list_senders
from tests.core.test_contacts_cli import run


def test_a_sender_number_is_registered_with_its_country_and_mentions(
    settings: Settings, engine: Engine
) -> None:
    added = run(
        ["senders", "add", "long_code", "+15145550000", "--country", "ca", "--rate", "5",
         "--opt-out-en", "Text STOP to quit"],
        settings,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    sender_id = added.stdout.strip()
    french = run(["senders", "add", "short_code", "36180"], settings)
    assert french.returncode == 0, french.stderr
    changed = run(["senders", "set", french.stdout.strip(), "--country", "FR"], settings)
    assert changed.returncode == 0, changed.stderr
    listed = run(["senders", "list"], settings).stdout.splitlines()
    assert listed[0].split("\t")[:4] == [sender_id, "long_code", "+15145550000", "CA"]
    assert listed[0].endswith("en: Text STOP to quit")
    assert listed[1].split("\t")[3] == "FR"
    with Session(engine) as session:
        assert [(s.value, s.country) for s in list_senders(session=session)] == [
            ("+15145550000", "CA"),
            ("36180", "FR"),
        ]
    refused = run(["senders", "add", "long_code", "+15145550001", "--country", "XX"], settings)
    assert refused.returncode == 1 and "XX" in refused.stderr
