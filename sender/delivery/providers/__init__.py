"""Providers hand messages to the phone network, behind one small interface (base.py),
and a registry maps `RICHSMS_PROVIDER` to the provider that carries them.

`console` is registered here; `smpp` and `http` live in `sender.delivery.providers.smpp` and
`sender.delivery.providers.http`, imported only when named (their client libraries are not
loaded otherwise). Each of those modules exposes `from_settings(settings) -> Provider`
and `webhooks`: None, or the provider's webhook parser (an object, or a callable that
builds it from the settings and the clock that dates what it reads), so that `web/` can
parse a webhook without starting the provider. Other providers (the tests' `fault`
provider, tests/sender/delivery/providers/fault.py, which the benchmarks borrow) are
registered by whoever needs them, with `register_provider`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from importlib import import_module
from types import ModuleType
from typing import cast

from richsms.clock import Clock
from richsms.settings import ConfigError, Settings
from sender.delivery.providers.base import (
    Inbound,
    OutgoingMessage,
    Provider,
    ProviderEvents,
    ProviderHealth,
    Receipt,
    ReceiptState,
    Report,
    SubmitResult,
    SubmitState,
    WebhookRequest,
    WebhookResult,
)

__all__ = [
    "Inbound",
    "OutgoingMessage",
    "Provider",
    "ProviderEvents",
    "ProviderFactory",
    "ProviderHealth",
    "Receipt",
    "ReceiptState",
    "Report",
    "SubmitResult",
    "SubmitState",
    "WebhookRequest",
    "WebhookResult",
    "provider_from_settings",
    "register_provider",
    "registered_providers",
    "webhooks_for",
]

ProviderFactory = Callable[[Settings], Provider]

# Providers that live in a module of their own, imported when first named.
_MODULES = {"smpp": "sender.delivery.providers.smpp", "http": "sender.delivery.providers.http"}
_FACTORIES: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make `name` available to `provider_from_settings` (replacing any earlier one)."""
    _FACTORIES[name] = factory


def registered_providers() -> list[str]:
    """Every name `provider_from_settings` may accept, registered or importable."""
    return sorted({*_FACTORIES, *_MODULES})


def provider_from_settings(settings: Settings) -> Provider:
    """The provider `RICHSMS_PROVIDER` names, configured from the settings (not started)."""
    name = settings.provider
    factory = _FACTORIES.get(name)
    if factory is None and name in _MODULES:
        factory = _module(name).from_settings
    if factory is None:
        raise ConfigError(
            f"unknown provider {name!r}: use one of {', '.join(registered_providers())}"
        )
    return factory(settings)


def webhooks_for(name: str, settings: Settings, clock: Clock | None = None) -> object | None:
    """The webhook parser of provider `name` (None when it has no webhooks), without
    starting the provider; what it reads is dated by `clock` (the system's by default)."""
    if name in _FACTORIES and name not in _MODULES:
        return None
    if name not in _MODULES:
        raise ConfigError(
            f"unknown provider {name!r}: use one of {', '.join(registered_providers())}"
        )
    webhooks: object = getattr(_module(name), "webhooks", None)
    if webhooks is not None and (inspect.isfunction(webhooks) or inspect.isclass(webhooks)):
        factory = cast(Callable[[Settings, Clock | None], object], webhooks)
        return factory(settings, clock)
    return webhooks


def _module(name: str) -> ModuleType:
    try:
        return import_module(_MODULES[name])
    except ImportError as exc:
        raise ConfigError(
            f"the {name} provider is not available ({exc}): set RICHSMS_PROVIDER=console"
        ) from exc


def _console(settings: Settings) -> Provider:
    from sender.delivery.providers.console import ConsoleProvider

    return ConsoleProvider(log_path=settings.console_log or None)


register_provider("console", _console)
