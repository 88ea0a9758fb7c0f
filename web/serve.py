"""The process entry point the HTTP server imports in each worker process."""

from __future__ import annotations

import os

from starlette.applications import Starlette

from richsms.logs import configure_logging
from richsms.settings import Settings
from web.app import create_app

# Set by `richsms serve` for its worker processes; not a user setting.
RUN_WORKER_FLAG = "_RICHSMS_SERVE_RUN_WORKER"


def app_from_environment() -> Starlette:
    settings = Settings.load()
    configure_logging(settings)
    return create_app(settings, run_worker=os.environ.get(RUN_WORKER_FLAG) == "1")
