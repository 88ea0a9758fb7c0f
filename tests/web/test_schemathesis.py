"""The API against its own OpenAPI document, with schemathesis: generated requests (valid
and not) to every operation, on SQLite, through the ASGI app with a valid token. No
request may get a server error, every answer must match the documented schema, and no
request may hold the database in a write transaction past the budget (the lock watchdog)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.db import make_engine, session_scope
from richsms.settings import Settings
from tests.clock import FrozenClock
from tests.lock_watchdog import LockWatchdog
from web.app import create_app
from web.openapi import build_schema

SECRET = "schemathesis-secret-0123456789abcdef0123"


def _schema() -> dict[str, Any]:
    # The document the app serves; building the app opens nothing.
    app = create_app(Settings.from_mapping({"RICHSMS_DATABASE_URL": "sqlite:///:memory:"}))
    return build_schema(app.operations())


schema = schemathesis.openapi.from_dict(_schema())


@pytest.fixture(scope="module")
def fuzz_client(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """One app for every operation: state built by one operation's requests (contacts,
    groups, pages…) is there for the next, as in a real session."""
    clock = FrozenClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with session_scope(engine) as session:
        token = create_token(session=session, name="fuzz", clock=clock)
    engine.dispose()
    app = create_app(
        Settings.from_mapping({"RICHSMS_DATABASE_URL": url, "RICHSMS_SECRET_KEY": SECRET}),
        clock=clock,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def send(client: TestClient, case: schemathesis.Case) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": {k: v for k, v in (kwargs.get("headers") or {}).items() if k != "Authorization"},
        "params": kwargs.get("params"),
        "follow_redirects": False,
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        request["content"] = data if isinstance(data, (bytes, str)) else str(data)
    return client.request(**request)


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_answer_as_documented(
    fuzz_client: TestClient, case: schemathesis.Case
) -> None:
    watchdog = LockWatchdog(Settings().write_budget_ms)
    with watchdog.watching(fuzz_client.app.context.engine):  # type: ignore[attr-defined]
        response = send(fuzz_client, case)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
