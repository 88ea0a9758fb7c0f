"""`richsms worker`: a sending worker only; run several against PostgreSQL.

Runs until SIGTERM or SIGINT, finishes the message in hand, then exits 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from richsms.clock import SystemClock
from richsms.db import make_engine
from richsms.settings import ConfigError, Settings
from sender.worker import worker_from_settings


def run() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = Settings.load()
        engine = make_engine(settings.database_url)
        worker = worker_from_settings(engine, settings, SystemClock())
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("richsms.worker").info(
            "%s received: stopping after the message in hand", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        worker.run_forever(stop)
    finally:
        worker.close()
        engine.dispose()
