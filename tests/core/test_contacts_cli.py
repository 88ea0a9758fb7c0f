"""`richsms contacts import`, run as a user runs it: a real subprocess."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from richsms.settings import Settings
from sender.audience.contacts import find_by_phone

RICHSMS = str(Path(sys.executable).with_name("richsms"))


def run(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RICHSMS_DATABASE_URL": settings.database_url,
        "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
    }
    return subprocess.run([RICHSMS, *args], capture_output=True, text=True, env=env, timeout=60)


def test_import_prints_a_summary_and_the_error_report(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    file = tmp_path / "contacts.csv"
    file.write_bytes(
        (
            "Téléphone;Prénom;Ville\n"
            "06 12 34 56 78;Hélène;Besançon\n"
            "12345;Bob;Paris\n"
            "+32 470 12 34 56;Jan;Gent\n"
            "0612345678;;Lyon\n"
        ).encode("latin-1")
    )
    report = tmp_path / "rejected.csv"
    result = run(["contacts", "import", str(file), "--report", str(report)], settings)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "4 rows: 2 new contacts, 0 updated, 1 duplicate row merged, 1 rejected" in out
    assert "Rejected rows (the header is row 1)" in out
    assert "not a valid number for FR: 12345" in out
    assert "06 12 34 56 78" not in out
    with report.open(encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [
            ["row", "reason"],
            ["3", "not a valid number for FR: 12345"],
        ]
    assert f"every rejected row is in {report}" in out
    belgian = tmp_path / "belgian.csv"
    belgian.write_text("phone\n0470 12 34 57\n")
    result = run(["contacts", "import", str(belgian), "--region", "BE"], settings)
    assert "1 row: 1 new contact, 0 updated" in result.stdout
    with Session(engine) as session:
        helene = find_by_phone(session=session, phone="+33612345678")
        assert helene is not None and helene.fields == {"ville": "Lyon"}
        assert find_by_phone(session=session, phone="+32470123457") is not None


def test_a_file_that_is_not_csv_fails_with_a_clear_message(
    tmp_path: Path, settings: Settings
) -> None:
    file = tmp_path / "contacts.xlsx"
    file.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00")
    result = run(["contacts", "import", str(file)], settings)
    assert result.returncode == 1
    assert "this is not a CSV file: it contains binary data" in result.stderr
    missing = run(["contacts", "import", str(tmp_path / "nope.csv")], settings)
    assert missing.returncode == 2
