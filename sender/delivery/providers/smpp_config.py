"""The smpp provider's settings, checked before anything connects."""

from __future__ import annotations

from dataclasses import dataclass

from richsms.settings import ConfigError, Settings


@dataclass(frozen=True, slots=True)
class SmppConfig:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    window: int = 10
    tls: bool = False
    gsm7_packed: bool = False
    # smpp34 reports a refused bind only when this runs out (then smpp_probe says why).
    connect_timeout: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    # How long a message waits for a bind before it is handed back (`retry`).
    bind_wait: float = 30.0
    throttle_pause: float = 0.2
    throttle_pause_max: float = 10.0
    # deliver_sm queued between smpp34 (which has acknowledged them) and our sink. When
    # it is full smpp34 answers ESME_RMSGQFUL, which in 1.5.0 ends the session (and turns
    # every submit in flight `unknown`): so it is large, and holds what a slow sink lags.
    inbound_queue: int = 65_536

    def __post_init__(self) -> None:
        # SMPP 3.4 C-octet strings (5.2.1-3); smpp34 panics a worker thread on longer
        # ones and reports "bind timed out", so refuse them here, by name.
        for name, value, most in (
            ("RICHSMS_SMPP_SYSTEM_ID", self.system_id, 15),
            ("RICHSMS_SMPP_PASSWORD", self.password, 8),
            ("RICHSMS_SMPP_SYSTEM_TYPE", self.system_type, 12),
        ):
            if len(value.encode("ascii", "replace")) > most or not value.isascii():
                raise ConfigError(f"{name} must be at most {most} ASCII characters")

    @classmethod
    def from_settings(cls, settings: Settings) -> SmppConfig:
        return cls(
            host=settings.smpp_host,
            port=settings.smpp_port,
            system_id=settings.smpp_system_id,
            password=settings.smpp_password.reveal(),
            system_type=settings.smpp_system_type,
            window=max(1, settings.smpp_window),
            tls=settings.smpp_tls,
            gsm7_packed=settings.smpp_gsm7_packed,
        )
