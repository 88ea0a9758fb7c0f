"""`richsms doctor`: what is wrong with this installation, one line per thing checked.

An operator runs it after a deploy, an upgrade or a page from monitoring. Each check
says what it looked at and, when it fails, what to do; the checks are independent
(a dead Redis does not hide a refused SMPP bind), each bounded by a timeout, and none
changes anything: the provider is bound and unbound, the database only read.

- settings: every variable parses and passes its rule (`Settings.validate`), and a
  production installation serves its pages over HTTPS.
- database: reachable, and its schema at this code's last migration.
- redis: answers PING when `RICHSMS_REDIS_URL` is set (else limits are per process).
- provider: the configured provider starts (an SMPP bind, then an unbind; for the
  http provider, its account answers with our credentials).
- public URL: `RICHSMS_BASE_URL` answers `/healthz` as richsms does.
- clock: this machine's clock agrees with the database server's (PostgreSQL) or with
  the public URL's `Date` (within `CLOCK_SKEW`): receipts, quiet hours and link
  expiry are all read against it.
"""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from richsms.clock import Clock, SystemClock
from richsms.db import make_engine
from richsms.migrate import current_revision, head_revision
from richsms.settings import ConfigError, Settings
from sender.delivery.providers import provider_from_settings
from sender.delivery.providers.base import Inbound, ProviderHealth, Receipt

TIMEOUT: Final = 10.0  # seconds, per check
CLOCK_SKEW: Final = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.check}: {self.detail}"


def examine(
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock | None = None,
    env_file: str | None = ".env",
    timeout: float = TIMEOUT,
) -> list[Finding]:
    """Every check, in order; without valid settings, only that one."""
    try:
        settings = Settings.load(environ, env_file=env_file)
    except ConfigError as exc:
        return [Finding("settings", False, str(exc))]
    now = clock or SystemClock()
    found = [_settings(settings)]
    database, server_time = _database(settings, timeout)
    found += database
    found.append(_redis(settings, timeout))
    found.append(_provider(settings, timeout))
    public, page_time = _public_url(settings, timeout)
    found.append(public)
    found.append(_clock(now, server_time or page_time, "database" if server_time else "public URL"))
    return found


def _settings(settings: Settings) -> Finding:
    if settings.env == "production" and not settings.base_url.startswith("https://"):
        return Finding(
            "settings", False, "RICHSMS_BASE_URL must be https:// in production (pages, cookies)"
        )
    return Finding("settings", True, f"{settings.env}, provider {settings.provider}")


def _database(settings: Settings, timeout: float) -> tuple[list[Finding], datetime | None]:
    where = _without_password(settings.database_url)
    if settings.is_sqlite:
        path = make_url(settings.database_url).database or ""
        if path != ":memory:" and not Path(path).is_file():
            # Connecting would create an empty file where the database was expected.
            return [
                Finding("database", False, f"no database file {path}: run `richsms db upgrade`")
            ], None
    options = {} if settings.is_sqlite else {"connect_args": {"connect_timeout": int(timeout)}}
    engine = make_engine(settings.database_url, **options)
    try:
        with engine.connect() as conn:
            if settings.is_sqlite:
                conn.execute(text("SELECT 1"))
                server_time = None
            else:
                server_time = conn.execute(text("SELECT now()")).scalar_one()
        at = current_revision(engine)
    except Exception as exc:  # any driver error: the operator reads it
        return [Finding("database", False, f"{where}: {_first_line(exc)}")], None
    finally:
        engine.dispose()
    head = head_revision()
    found = [Finding("database", True, where)]
    if at == head:
        found.append(Finding("migrations", True, f"at {head}, the latest"))
    elif at is None:
        found.append(Finding("migrations", False, "never migrated: run `richsms db upgrade`"))
    elif at < head:
        found.append(
            Finding("migrations", False, f"at {at}, {head} pending: run `richsms db upgrade`")
        )
    else:
        found.append(
            Finding("migrations", False, f"at {at}, newer than this code's {head}: upgrade richsms")
        )
    return found, server_time


def _redis(settings: Settings, timeout: float) -> Finding:
    if not settings.redis_url:
        return Finding("redis", True, "not configured: limits are kept per process")
    import redis

    client = redis.Redis.from_url(
        settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    try:
        client.ping()
    except Exception as exc:
        return Finding(
            "redis", False, f"{_without_password(settings.redis_url)}: {_first_line(exc)}"
        )
    finally:
        client.close()
    return Finding("redis", True, f"{_without_password(settings.redis_url)} answers")


class _Nowhere:
    """The provider's events sink while it is only being tried: nothing should arrive."""

    async def receipt(self, receipt: Receipt) -> None:
        return None

    async def receipt_batch(self, receipts: Sequence[Receipt]) -> None:
        return None

    async def inbound(self, message: Inbound) -> None:
        return None


def _provider(settings: Settings, timeout: float) -> Finding:
    try:
        provider = provider_from_settings(settings)
    except ConfigError as exc:
        return Finding("provider", False, str(exc))

    async def attempt() -> ProviderHealth:
        # An SMSC refusing a bind is only told after smpp34's own connect timeout, then
        # read by a second bind (smpp_probe): leave the start room for both.
        await asyncio.wait_for(provider.start(_Nowhere()), 3 * timeout)
        try:
            verify: Callable[[], Awaitable[ProviderHealth]] | None = getattr(
                provider, "verify", None
            )
            if verify is not None:
                return await asyncio.wait_for(verify(), timeout)
            return provider.health()
        finally:
            await asyncio.wait_for(provider.close(), timeout)

    try:
        health = asyncio.run(attempt())
    except TimeoutError:
        return Finding("provider", False, f"{settings.provider}: no answer within {timeout:g} s")
    except Exception as exc:
        return Finding("provider", False, f"{settings.provider}: {_first_line(exc)}")
    return Finding("provider", health.ok, f"{settings.provider}: {health.detail or 'ready'}")


def _public_url(settings: Settings, timeout: float) -> tuple[Finding, datetime | None]:
    url = settings.base_url.rstrip("/") + "/healthz"
    try:
        answer = httpx.get(url, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        return Finding(
            "public URL", False, f"{url}: {_first_line(exc) or type(exc).__name__}"
        ), None
    stamp = answer.headers.get("date")
    at = email.utils.parsedate_to_datetime(stamp) if stamp else None
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code not in (200, 503) or not isinstance(body, dict) or "status" not in body:
        return (
            Finding("public URL", False, f"{url}: answered {answer.status_code}, not richsms"),
            at,
        )
    if answer.status_code == 503:
        return Finding("public URL", False, f"{url}: richsms answers unhealthy: {body}"), at
    return Finding("public URL", True, f"{url} answers"), at


def _clock(clock: Clock, reference: datetime | None, source: str) -> Finding:
    if reference is None:
        return Finding("clock", True, "no reference to compare with (SQLite, public URL down)")
    skew = clock.now() - reference
    # An HTTP Date has whole seconds: allow one more second against it.
    allowed = CLOCK_SKEW + (timedelta(seconds=1) if source == "public URL" else timedelta())
    seconds = skew.total_seconds()
    if abs(skew) > allowed:
        way = "ahead of" if seconds > 0 else "behind"
        return Finding(
            "clock", False, f"{abs(seconds):.1f} s {way} the {source}: synchronize it (NTP)"
        )
    return Finding("clock", True, f"within {abs(seconds):.1f} s of the {source}")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _without_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL (redis://): hide what follows "user:"
        head, at, tail = url.rpartition("@")
        if not at:
            return url
        scheme, _, user = head.partition("://")
        return f"{scheme}://{user.split(':')[0]}:***@{tail}"
