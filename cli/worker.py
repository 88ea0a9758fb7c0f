"""`richsms worker`: a sending worker, and the chore loop (planning, finishing campaigns,
automations) in a thread of its own; run several against PostgreSQL.

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
from richsms.settings import ConfigError, Settings
from sender.chores import chores_from_settings
from sender.delivery.worker import worker_from_settings


def run() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = Settings.load()
        engine = make_engine(settings.database_url)
        clock = SystemClock()
        worker = worker_from_settings(engine, settings, clock)
        chores = chores_from_settings(engine, settings, clock)
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
    chores.start()
    try:
        worker.run_forever(stop)
    finally:
        chores.stop()
        worker.close()
        engine.dispose()
