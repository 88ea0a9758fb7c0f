"""`richsms worker`: a sending worker and the chore loop (planning, finishing campaigns,
automations), each in a thread of the runtime (richsms/runtime.py); run several against
PostgreSQL.

Runs until SIGTERM or SIGINT, finishes the message (and the planning batch) in hand, then
exits 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from richsms.clock import SystemClock
from richsms.db import make_engine
from richsms.logs import configure_logging
from richsms.metrics import serve_metrics
from richsms.runtime import worker_runtime
from richsms.settings import ConfigError, Settings
from sender.results.operations import DatabaseFigures


def run(metrics_port: int | None = None, metrics_host: str = "127.0.0.1") -> None:
    try:
        settings = Settings.load()
        configure_logging(settings)
        engine = make_engine(settings.database_url)
        runtime = worker_runtime(engine, settings, SystemClock())
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if metrics_port is not None:
        serve_metrics(metrics_host, metrics_port, DatabaseFigures(engine, SystemClock()))
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("richsms.worker").info(
            "%s received: stopping after the message in hand", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    runtime.run_until(stop)
