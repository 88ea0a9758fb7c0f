"""Fixtures: every database test runs on SQLite, and on PostgreSQL when
RICHSMS_TEST_POSTGRES_URL is set; each test starts from a freshly migrated, empty schema."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, inspect, text
from starlette.applications import Starlette
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.db import make_engine, session_scope
from richsms.migrate import upgrade
from richsms.settings import Settings
from tests.clock import FrozenClock

# Timings are never pass/fail: a first call that imports a codec on a loaded machine
# must not fail a property test on hypothesis' default 200 ms deadline.
hypothesis_settings.register_profile("richsms", deadline=None)
hypothesis_settings.load_profile("richsms")

POSTGRES_URL = os.environ.get("RICHSMS_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]
TEST_SECRET = "test-secret-key-0123456789abcdef0123456789"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked postgres_only exist only in their PostgreSQL variant (deselected, not
    skipped, on SQLite)."""
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        on_sqlite = params is not None and params.params.get("database_url") == "sqlite"
        (drop if on_sqlite and item.get_closest_marker("postgres_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def reset_postgres_schema(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: far faster than migrating each time."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_tables() -> list[str]:
    reset_postgres_schema(POSTGRES_URL)
    engine = make_engine(POSTGRES_URL)
    upgrade(engine)
    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    engine.dispose()
    return tables


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "richsms.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    tables: list[str] = request.getfixturevalue("postgres_tables")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as conn:
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return POSTGRES_URL


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings.from_mapping(
        {
            "RICHSMS_DATABASE_URL": database_url,
            "RICHSMS_SECRET_KEY": TEST_SECRET,
            "RICHSMS_SHORT_URL": "https://ex.co/",
            "RICHSMS_BASE_URL": "https://pages.ex.co/",
            # Tests send many promotions to the same contacts: the frequency cap is off
            # but where a test is about it (tests/sender/delivery/test_frequency_caps.py).
            "RICHSMS_FREQUENCY_CAP": "off",
            "RICHSMS_FREQUENCY_GAP_HOURS": "0",
        }
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Starlette:
    from web.app import create_app

    return create_app(settings, clock=clock)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def token(engine: Engine, clock: FrozenClock) -> str:
    with session_scope(engine) as session:
        return create_token(session=session, name="tests", clock=clock)


@pytest.fixture
def api(client: TestClient, token: str) -> TestClient:
    client.headers["Authorization"] = f"Bearer {token}"
    return client
