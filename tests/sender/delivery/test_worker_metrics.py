"""`richsms worker --metrics-port`: a worker host's own figures for Prometheus (the answers
its provider gave, the receipts it stored and how late), with the installation's, and
its log as JSON lines when asked (`RICHSMS_LOG_FORMAT=json`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
from sqlalchemy import Engine

from richsms.settings import Settings
from tests.sender.delivery.providers.peers import free_port
from tests.sender.delivery.test_worker_processes import RICHSMS, seed, wait_for
from tests.web.operations.test_metrics import samples


def test_a_worker_serves_its_figures_and_logs_json(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    seed(engine, 5)
    port = free_port()
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "RICHSMS_DATABASE_URL": settings.database_url,
        "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
        "RICHSMS_DEFAULT_RATE": "1000",
        "RICHSMS_LOG_FORMAT": "json",
    }
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [RICHSMS, "worker", "--metrics-port", str(port)],
            env=env,
            cwd=tmp_path,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:

        def figures() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            try:
                return samples(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
            except httpx.HTTPError:
                return {}

        delivered = ("richsms_messages", (("state", "delivered"),))
        wait_for(lambda: figures().get(delivered) == 5, worker, log)
        now = figures()
        answered = ("richsms_messages_answered_total", (("provider", "console"), ("state", "sent")))
        assert now[answered] == 5
        applied = ("richsms_receipts_total", (("outcome", "applied"), ("provider", "console")))
        assert now[applied] == 5
        assert now[("richsms_receipt_lag_seconds_count", (("provider", "console"),))] == 5
        assert now[("richsms_messages_due", ())] == 0
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert lines, "the worker logged nothing"
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert any("started" in line["message"] for line in lines)
