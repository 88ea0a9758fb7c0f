"""Providers hand a message to the phone network, behind one small interface.

A provider answers each `send` with a `SendResult`: accepted (with the provider's id for
the message), a permanent failure (never retried) or a temporary one (known not to have
been sent; retried later). A provider raises only when it cannot tell whether the message
left: the worker then records the message as `unknown` and never resends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from richsms.settings import ConfigError, Settings


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What a provider needs of an outbox message."""

    id: int
    phone: str
    sender: str
    text: str
    type: str
    encoding: str
    segments: int


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_id: str | None = None
    error: str | None = None
    temporary: bool = False

    @classmethod
    def accepted(cls, provider_id: str) -> SendResult:
        return cls(provider_id=provider_id)

    @classmethod
    def permanent_failure(cls, error: str) -> SendResult:
        return cls(error=error)

    @classmethod
    def temporary_failure(cls, error: str) -> SendResult:
        """Not sent, for a reason that may pass (throttled, network down): retry later."""
        return cls(error=error, temporary=True)

    @property
    def ok(self) -> bool:
        return self.provider_id is not None


class Provider(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> SendResult: ...

    def close(self) -> None: ...


def provider_from_settings(settings: Settings) -> Provider:
    """The provider `RICHSMS_PROVIDER` names, configured from the settings."""
    if settings.provider == "console":
        from sender.providers.console import ConsoleProvider

        return ConsoleProvider(log_path=settings.console_log or None)
    raise ConfigError(
        f"the {settings.provider} provider is not available yet: set RICHSMS_PROVIDER=console"
    )
