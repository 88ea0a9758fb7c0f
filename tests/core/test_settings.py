from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from richsms.db import make_engine
from richsms.settings import DEFAULT_SECRET_KEY, ConfigError, Settings, documented_variables
from sender.delivery.worker import worker_from_settings
from tests.clock import FrozenClock


def test_defaults_serve_sqlite_with_the_console_provider() -> None:
    settings = Settings.load({}, env_file=None)
    assert settings.database_url == "sqlite:///./richsms.db"
    assert settings.provider == "console"
    assert settings.env == "development"


def test_values_are_typed() -> None:
    settings = Settings.load(
        {"RICHSMS_SMPP_PORT": "2776", "RICHSMS_PRICE_PER_SEGMENT": "0.045"}, env_file=None
    )
    assert settings.smpp_port == 2776
    assert settings.price_per_segment == Decimal("0.045")


def test_a_malformed_number_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="RICHSMS_SMPP_WINDOW"):
        Settings.load({"RICHSMS_SMPP_WINDOW": "ten"}, env_file=None)


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("RICHSMS_PROVIDER=smpp\nRICHSMS_DEFAULT_REGION=BE\n")
    settings = Settings.load({"RICHSMS_DEFAULT_REGION": "CH"}, env_file=env_file)
    assert settings.provider == "smpp"
    assert settings.default_region == "CH"


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ConfigError, match="RICHSMS_SECRET_KEY"):
        Settings.load({"RICHSMS_ENV": "production"}, env_file=None)
    with pytest.raises(ConfigError, match="32 characters"):
        Settings.load({"RICHSMS_ENV": "production", "RICHSMS_SECRET_KEY": "short"}, env_file=None)
    ok = Settings.load({"RICHSMS_ENV": "production", "RICHSMS_SECRET_KEY": "x" * 40}, env_file=None)
    assert ok.secret_key.reveal() == "x" * 40


def test_secrets_never_print() -> None:
    settings = Settings.load({"RICHSMS_HTTP_AUTH_TOKEN": "tok-123456"}, env_file=None)
    assert "tok-123456" not in repr(settings)
    assert DEFAULT_SECRET_KEY not in repr(settings)


def test_unknown_provider_is_refused() -> None:
    with pytest.raises(ConfigError, match="RICHSMS_PROVIDER"):
        Settings.load({"RICHSMS_PROVIDER": "carrier-pigeon"}, env_file=None)


def test_every_variable_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    missing = [name for name, _, _ in documented_variables() if f"`{name}`" not in readme]
    assert missing == []


def test_the_worker_batch_is_bounded_and_given_to_the_worker(tmp_path: Path) -> None:
    for bad in ("0", "5001", "-3"):
        with pytest.raises(ConfigError, match="RICHSMS_WORKER_BATCH"):
            Settings.from_mapping({"RICHSMS_WORKER_BATCH": bad})
    settings = Settings.from_mapping(
        {"RICHSMS_WORKER_BATCH": "500", "RICHSMS_DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    )
    engine = make_engine(settings.database_url)
    try:
        clock = FrozenClock(datetime(2026, 12, 1, tzinfo=UTC))
        worker = worker_from_settings(engine, settings, clock)
        assert worker.config.batch_size == 500
        worker.close()
    finally:
        engine.dispose()


def test_the_accounts_time_zone_is_a_known_one() -> None:
    assert Settings.load({}, env_file=None).time_zone == "Europe/Paris"
    assert Settings.load({"RICHSMS_TIME_ZONE": "America/Montreal"}, env_file=None).time_zone
    with pytest.raises(ConfigError, match="RICHSMS_TIME_ZONE"):
        Settings.load({"RICHSMS_TIME_ZONE": "Europe/Lutece"}, env_file=None)
