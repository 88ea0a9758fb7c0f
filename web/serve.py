"""The process entry point the HTTP server imports in each worker process."""

from __future__ import annotations

import logging
import os

from starlette.applications import Starlette

from richsms.settings import Settings
from web.app import create_app

# Set by `richsms serve` for its worker processes; not a user setting.
RUN_WORKER_FLAG = "_RICHSMS_SERVE_RUN_WORKER"


def app_from_environment() -> Starlette:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return create_app(Settings.load(), run_worker=os.environ.get(RUN_WORKER_FLAG) == "1")
