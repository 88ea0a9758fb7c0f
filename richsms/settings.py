"""Every setting richsms reads, in one place: environment variables, then `.env`.

Read once by `Settings.load()` and passed down; nothing else reads the environment.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

DEFAULT_SECRET_KEY = "insecure-development-key-change-me"
PROVIDERS = ("console", "smpp", "http")
ENVIRONMENTS = ("development", "production")
IP_MODES = ("truncate", "hash")
DURABILITIES = ("crash", "power")
LOG_FORMATS = ("text", "json")
MAX_RETENTION_DAYS = 3650


class ConfigError(ValueError):
    """A setting is missing, malformed, or unsafe for the environment."""


class Secret:
    """A string that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _setting(env: str, default: object, doc: str) -> Any:
    return field(default=default, metadata={"env": env, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """Typed settings. Each field's metadata names its variable and says what it does."""

    env: str = _setting(
        "RICHSMS_ENV",
        "development",
        "`development` or `production`; production refuses the default secret key.",
    )
    database_url: str = _setting(
        "RICHSMS_DATABASE_URL",
        "sqlite:///./richsms.db",
        "SQLAlchemy URL: `sqlite:///path` or `postgresql://user@host/db`.",
    )
    base_url: str = _setting(
        "RICHSMS_BASE_URL",
        "http://127.0.0.1:8000/",
        "Public address where landing pages are served.",
    )
    short_url: str = _setting(
        "RICHSMS_SHORT_URL",
        "http://127.0.0.1:8000/",
        "Prefix of short links, e.g. `https://ex.co/`.",
    )
    secret_key: Secret = _setting(
        "RICHSMS_SECRET_KEY",
        Secret(DEFAULT_SECRET_KEY),
        "Secret for link codes, signatures and hashes. Must be changed in production.",
    )
    provider: str = _setting(
        "RICHSMS_PROVIDER", "console", "`console` (nothing leaves the machine), `smpp` or `http`."
    )
    smpp_host: str = _setting("RICHSMS_SMPP_HOST", "127.0.0.1", "SMSC host.")
    smpp_port: int = _setting("RICHSMS_SMPP_PORT", 2775, "SMSC port.")
    smpp_system_id: str = _setting("RICHSMS_SMPP_SYSTEM_ID", "", "SMPP system_id.")
    smpp_password: Secret = _setting("RICHSMS_SMPP_PASSWORD", Secret(""), "SMPP password.")
    smpp_system_type: str = _setting("RICHSMS_SMPP_SYSTEM_TYPE", "", "SMPP system_type.")
    smpp_window: int = _setting(
        "RICHSMS_SMPP_WINDOW", 10, "Outstanding SMPP requests allowed at once."
    )
    smpp_tls: bool = _setting(
        "RICHSMS_SMPP_TLS", False, "Bind to the SMSC over TLS (`true` / `false`)."
    )
    smpp_gsm7_packed: bool = _setting(
        "RICHSMS_SMPP_GSM7_PACKED",
        False,
        "Send GSM-7 text (data_coding 0) packed 7 bits a character; most SMSCs expect "
        "one septet a byte (`false`).",
    )
    http_base_url: str = _setting(
        "RICHSMS_HTTP_BASE_URL", "", "Base URL of the Twilio-compatible REST API."
    )
    http_account_sid: str = _setting(
        "RICHSMS_HTTP_ACCOUNT_SID", "", "Account SID for the HTTP provider."
    )
    http_auth_token: Secret = _setting(
        "RICHSMS_HTTP_AUTH_TOKEN",
        Secret(""),
        "Auth token for the HTTP provider; also validates its webhooks.",
    )
    http_messaging_service_sid: str = _setting(
        "RICHSMS_HTTP_MESSAGING_SERVICE_SID",
        "",
        "Messaging service the HTTP provider sends from when a message has no sender "
        "number (empty: the message's sender only).",
    )
    http_window: int = _setting(
        "RICHSMS_HTTP_WINDOW", 10, "Concurrent requests the HTTP provider keeps in flight."
    )
    console_log: str = _setting(
        "RICHSMS_CONSOLE_LOG",
        "",
        "File the `console` provider appends each message to, one JSON line each "
        "(empty: the log only).",
    )
    default_rate: float = _setting(
        "RICHSMS_DEFAULT_RATE",
        10.0,
        "Messages per second for messages with neither a campaign nor a sender number "
        "(unitary sends, automations), shared by every worker.",
    )
    worker_batch: int = _setting(
        "RICHSMS_WORKER_BATCH",
        200,
        "Messages a sending worker claims at once: larger batches cost less per message; "
        "a killed worker leaves at most three batches `unknown`.",
    )
    default_region: str = _setting(
        "RICHSMS_DEFAULT_REGION", "FR", "Region for phone numbers written without a country code."
    )
    reply_window_days: int = _setting(
        "RICHSMS_REPLY_WINDOW_DAYS",
        7,
        "Days after a message during which a reply or an opt-out is counted for its "
        "campaign (or unitary message).",
    )
    event_retention_days: int = _setting(
        "RICHSMS_EVENT_RETENTION_DAYS",
        395,
        "Days raw clicks and page events (with the anonymized address, the user agent and "
        "the referrer) are kept; older ones are folded into daily rollups that keep every "
        "result exact, then deleted (daily by the chore loop, or `richsms events prune`). "
        "1 to 3650.",
    )
    frequency_cap: str = _setting(
        "RICHSMS_FREQUENCY_CAP",
        "2/7d",
        "Promotional messages a contact may get: at most N per D days, written `N/Dd` "
        "(`off`: no limit). A campaign's approver may set its own (`frequency_cap`).",
    )
    frequency_gap_hours: int = _setting(
        "RICHSMS_FREQUENCY_GAP_HOURS",
        16,
        "Hours that must separate two promotional messages to one contact (`0`: none).",
    )
    price_per_segment: Decimal = _setting(
        "RICHSMS_PRICE_PER_SEGMENT",
        Decimal("0.05"),
        "Price of one SMS segment, for cost estimates.",
    )
    currency: str = _setting("RICHSMS_CURRENCY", "EUR", "Currency of estimates.")
    time_zone: str = _setting(
        "RICHSMS_TIME_ZONE",
        "Europe/Paris",
        "The account's time zone (IANA name): the UI and exports show dates and times in it.",
    )
    opt_out_en: str = _setting(
        "RICHSMS_OPT_OUT_EN",
        "Reply STOP to opt out",
        "Opt-out mention appended to promotional messages in English.",
    )
    opt_out_fr: str = _setting(
        "RICHSMS_OPT_OUT_FR",
        "STOP au 36180",
        "Opt-out mention appended to promotional messages in French.",
    )
    max_segments: int = _setting(
        "RICHSMS_MAX_SEGMENTS",
        10,
        "Longest SMS accepted, in segments: a longer message is refused when it is saved, "
        "or becomes that recipient's production error.",
    )
    link_code_length: int = _setting(
        "RICHSMS_LINK_CODE_LENGTH",
        9,
        "Length of a short link's code, counted in message lengths before links exist.",
    )
    ip_anonymization: str = _setting(
        "RICHSMS_IP_ANONYMIZATION",
        "truncate",
        "`truncate` (IPv4 /24, IPv6 /48) or `hash` (keyed hash) for stored click IPs.",
    )
    trusted_proxies: str = _setting(
        "RICHSMS_TRUSTED_PROXIES",
        "",
        "Comma-separated addresses or CIDR blocks of the proxies or load balancers in front "
        "of richsms: only their `Forwarded` / `X-Forwarded-For` headers are believed for "
        "the client address of clicks and limits (empty: the socket's peer, headers ignored).",
    )
    worker_alive_seconds: float = _setting(
        "RICHSMS_WORKER_ALIVE_SECONDS",
        20.0,
        "How long a sending worker's heartbeat (renewed every quarter of it) keeps its claimed "
        "messages its own: a worker silent for longer is presumed dead, and another worker "
        "queues again what it had not handed to the provider (what it had is `unknown`).",
    )
    log_format: str = _setting(
        "RICHSMS_LOG_FORMAT",
        "text",
        "`text` (a line per event) or `json` (one JSON object per line: time, level, "
        "logger, message, and the exception's traceback when there is one).",
    )
    metrics_networks: str = _setting(
        "RICHSMS_METRICS_NETWORKS",
        "127.0.0.0/8,::1/128",
        "Addresses or CIDR blocks allowed to read `/metrics` directly (a request relayed by "
        "a proxy never is); anyone else needs an administrator's API token.",
    )
    redis_url: str = _setting(
        "RICHSMS_REDIS_URL",
        "",
        "Redis URL (e.g. `redis://127.0.0.1:6379/0`) for limits shared by every process; "
        "empty: each process limits on its own. Redirects keep answering if Redis is down.",
    )
    click_durability: str = _setting(
        "RICHSMS_CLICK_DURABILITY",
        "crash",
        "`crash`: a redirect waits until its click would survive a crash of richsms "
        "(SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off for clicks); "
        "`power`: until it would survive losing the host (fsync on every batch).",
    )
    page_render_seconds: float = _setting(
        "RICHSMS_PAGE_RENDER_SECONDS",
        0.5,
        "Longest one page view's whole render may take (seconds, in a worker thread): "
        "later texts with merge fields show empty past it, and a page whose render for a "
        "sample contact takes longer is refused at publish, naming the block.",
    )
    max_body_bytes: int = _setting(
        "RICHSMS_MAX_BODY_BYTES", 10_485_760, "Largest request body accepted (bytes)."
    )
    write_budget_ms: float = _setting(
        "RICHSMS_WRITE_BUDGET_MS",
        100.0,
        "Longest a write transaction should hold the database (ms); a longer one is logged "
        "with the statement that opened it.",
    )
    import_reports_dir: str = _setting(
        "RICHSMS_IMPORT_REPORTS_DIR",
        "",
        "Directory where contact imports write their rejected rows (one CSV file per "
        "import, downloadable for 24 hours); empty: `richsms-import-reports` in the "
        "system's temporary directory.",
    )
    webhooks_allow_private: bool = _setting(
        "RICHSMS_WEBHOOKS_ALLOW_PRIVATE",
        False,
        "Let webhooks reach loopback, private, link-local and multicast addresses "
        "(development only: `false` refuses them at registration and at each delivery).",
    )
    demo: bool = _setting(
        "RICHSMS_DEMO",
        True,
        "`make serve` seeds a demo (audience, page, a sent campaign with results) when the "
        "database is empty; `0` starts empty.",
    )

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
    ) -> Settings:
        """Settings from `environ` (default: the process environment) over `env_file`."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Settings:
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            name = f.metadata["env"]
            kwargs[f.name] = _cast(name, values[name], f.type) if name in values else f.default
        settings = cls(**kwargs)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def replace(self, **changes: object) -> Settings:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update(changes)
        return type(self)(**data)

    def validate(self) -> None:
        if self.env not in ENVIRONMENTS:
            raise ConfigError(f"RICHSMS_ENV must be one of {', '.join(ENVIRONMENTS)}")
        if self.provider not in PROVIDERS:
            raise ConfigError(f"RICHSMS_PROVIDER must be one of {', '.join(PROVIDERS)}")
        if self.ip_anonymization not in IP_MODES:
            raise ConfigError(f"RICHSMS_IP_ANONYMIZATION must be one of {', '.join(IP_MODES)}")
        for variable, networks in (
            ("RICHSMS_TRUSTED_PROXIES", self.trusted_proxies),
            ("RICHSMS_METRICS_NETWORKS", self.metrics_networks),
        ):
            try:
                parse_networks(networks)
            except ValueError as exc:
                raise ConfigError(f"{variable}: {exc}") from None
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("RICHSMS_REDIS_URL must be a redis://, rediss:// or unix:// URL")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"RICHSMS_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        if self.click_durability not in DURABILITIES:
            raise ConfigError(f"RICHSMS_CLICK_DURABILITY must be one of {', '.join(DURABILITIES)}")
        if not self.write_budget_ms > 0:
            raise ConfigError("RICHSMS_WRITE_BUDGET_MS must be a positive number of ms")
        if not 0 <= self.reply_window_days <= 3650:
            raise ConfigError("RICHSMS_REPLY_WINDOW_DAYS must be a number of days, 0 to 3650")
        if not 1 <= self.event_retention_days <= MAX_RETENTION_DAYS:
            raise ConfigError(
                f"RICHSMS_EVENT_RETENTION_DAYS must be a number of days, 1 to {MAX_RETENTION_DAYS}"
            )
        try:
            parse_frequency_cap(self.frequency_cap)
        except ValueError as exc:
            raise ConfigError(f"RICHSMS_FREQUENCY_CAP: {exc}") from None
        if not 0 <= self.frequency_gap_hours <= MAX_GAP_HOURS:
            raise ConfigError(
                f"RICHSMS_FREQUENCY_GAP_HOURS must be a number of hours, 0 to {MAX_GAP_HOURS}"
            )
        if not _known_zone(self.time_zone):
            raise ConfigError("RICHSMS_TIME_ZONE must be an IANA time zone, e.g. Europe/Paris")
        if not 1 <= self.max_segments <= 255:
            raise ConfigError("RICHSMS_MAX_SEGMENTS must be between 1 and 255")
        if not 1 <= self.worker_alive_seconds <= 3600:
            raise ConfigError("RICHSMS_WORKER_ALIVE_SECONDS must be between 1 and 3600")
        if not 1 <= self.worker_batch <= 5000:
            raise ConfigError("RICHSMS_WORKER_BATCH must be between 1 and 5000")
        if not 0 < self.page_render_seconds <= 60:
            raise ConfigError("RICHSMS_PAGE_RENDER_SECONDS must be more than 0 and at most 60")
        if not 0 < self.default_rate < float("inf"):
            raise ConfigError("RICHSMS_DEFAULT_RATE must be a positive number of messages/s")
        for name in ("base_url", "short_url"):
            url = getattr(self, name)
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"RICHSMS_{name.upper()} must be an http(s) URL")
        if self.env == "production":
            if self.secret_key.reveal() == DEFAULT_SECRET_KEY:
                raise ConfigError("RICHSMS_SECRET_KEY must be set in production")
            if len(self.secret_key.reveal()) < 32:
                raise ConfigError("RICHSMS_SECRET_KEY must be at least 32 characters")

    @property
    def frequency_limit(self) -> tuple[int, int] | None:
        """(N, D) of RICHSMS_FREQUENCY_CAP: at most N promotional messages per D days;
        None when it is `off`."""
        return parse_frequency_cap(self.frequency_cap)

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @property
    def import_reports(self) -> Path | None:
        """The imports' reports directory; None: the default one (`sender.audience`'s)."""
        return Path(self.import_reports_dir) if self.import_reports_dir else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def opt_out_text(self, language: str) -> str:
        return self.opt_out_fr if language == "fr" else self.opt_out_en


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """`10.0.0.0/8, 192.168.1.7, fd00::/8` → networks; ValueError names a bad entry."""
    networks = []
    for item in spec.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an address or CIDR block: {item!r}") from None
    return tuple(networks)


MAX_CAP_MESSAGES = 1000
MAX_CAP_DAYS = 365
MAX_GAP_HOURS = 24 * MAX_CAP_DAYS


def parse_frequency_cap(spec: str) -> tuple[int, int] | None:
    """`2/7d` (or `2/7`) → (2, 7): at most 2 messages per 7 days; `off` (or empty) → None.
    ValueError says what is wrong."""
    text = spec.strip().lower()
    if text in ("", "off", "none"):
        return None
    count, slash, days = text.partition("/")
    days = days.strip().removesuffix("d").strip()
    if not slash or not count.strip().isdigit() or not days.isdigit():
        raise ValueError(f"write it N/Dd, e.g. 2/7d (at most 2 per 7 days), or off; got {spec!r}")
    n, d = int(count), int(days)
    if not 1 <= n <= MAX_CAP_MESSAGES:
        raise ValueError(f"the number of messages must be 1 to {MAX_CAP_MESSAGES}; got {spec!r}")
    if not 1 <= d <= MAX_CAP_DAYS:
        raise ValueError(f"the number of days must be 1 to {MAX_CAP_DAYS}; got {spec!r}")
    return n, d


def documented_variables() -> list[tuple[str, str, str]]:
    """(variable, default, description) of every setting, for the README and its test."""
    return [
        (
            f.metadata["env"],
            f.default.reveal() if isinstance(f.default, Secret) else str(f.default),
            f.metadata["doc"],
        )
        for f in fields(Settings)
    ]


def _cast(name: str, raw: str, kind: object) -> object:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind_name == "int":
            return int(raw)
        if kind_name == "float":
            return float(raw)
        if kind_name == "Decimal":
            return Decimal(raw)
    except (ValueError, InvalidOperation):
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if kind_name == "Secret":
        return Secret(raw)
    if kind_name == "bool":
        if raw.strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
            raise ConfigError(f"{name} must be true or false, got {raw!r}")
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return raw


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
