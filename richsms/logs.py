"""How a process logs: a line of text per event, or with `RICHSMS_LOG_FORMAT=json` one
JSON object per line for a log shipper (time, level, logger, message, and the
traceback of an exception), through python-json-logger. `richsms serve`'s processes and
`richsms worker` both call `configure_logging` first."""

from __future__ import annotations

import logging
import sys
from typing import Final

from pythonjsonlogger.json import JsonFormatter

from richsms.settings import Settings

TEXT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
