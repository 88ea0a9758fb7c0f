"""Where benchmarks keep their data: never the test suite's database."""

from __future__ import annotations

import os

from sqlalchemy import text

from richsms.db import make_engine, normalize_url
from richsms.settings import Settings

POSTGRES_URL = os.environ.get(
    "RICHSMS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/richsms_bench"
)


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of `url` if it does not exist yet."""
    parsed = normalize_url(url)
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        ).first()
        if exists is None:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def reset_postgres(url: str) -> None:
    """An empty public schema, ready for migrations."""
    ensure_database(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def sqlite_settings(url: str) -> Settings:
    """The settings the UI benches serve a temporary SQLite database with."""
    return Settings.from_mapping(
        {
            "RICHSMS_DATABASE_URL": url,
            "RICHSMS_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
            "RICHSMS_SHORT_URL": "https://s.example/",
            "RICHSMS_BASE_URL": "https://s.example/",
        }
    )
