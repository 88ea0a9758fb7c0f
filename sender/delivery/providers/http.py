"""The `http` provider: Twilio's Messages API, or any API that speaks it.

`POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, form-encoded, basic auth (account
sid, auth token), with To, From (or MessagingServiceSid), Body and StatusCallback. The
API has no idempotency key, so a request that was written and never answered (a read
timeout, a dropped connection) is `unknown` and never sent again; a request that never
left (no connection) or that was refused before it was read (429, 5xx) is retried with
back-off. Delivery comes back later through status callbacks (`twilio_webhooks`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import httpx

from richsms.settings import Settings
from sender.delivery.providers.base import (
    OutgoingMessage,
    ProviderEvents,
    ProviderHealth,
    Report,
    SubmitResult,
)
from sender.delivery.providers.twilio_webhooks import STATUS_PATH
from sender.delivery.providers.twilio_webhooks import webhooks as webhooks

log = logging.getLogger("richsms.http")

DEFAULT_BASE_URL: Final = "https://api.twilio.com"
OPTED_OUT: Final = 21610  # the recipient replied STOP at the carrier
RETRY_ONCE: Final = frozenset({30003, 30008})  # unreachable handset, unknown error
FILTERED: Final = 30007  # carrier filtering: the content or sender needs attention
PERMANENT: Final = frozenset({21211, 21614, 30004, 30005, 30006})


@dataclass(frozen=True, slots=True)
class HttpConfig:
    base_url: str
    account_sid: str
    auth_token: str
    status_callback: str  # our public URL for status callbacks ("" = none)
    messaging_service_sid: str = ""
    window: int = 10
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    retry_once_pause: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpConfig:
        return cls(
            base_url=(settings.http_base_url or DEFAULT_BASE_URL).rstrip("/"),
            account_sid=settings.http_account_sid,
            auth_token=settings.http_auth_token.reveal(),
            status_callback=settings.base_url.rstrip("/") + "/" + STATUS_PATH,
            messaging_service_sid=settings.http_messaging_service_sid,
            window=max(1, settings.http_window),
        )


class HttpProvider:
    name = "http"

    def __init__(self, config: HttpConfig, *, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self.window = config.window
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(config.window)
        self._backoff = 0.0
        self._health = ProviderHealth(False, "not started")
        self._url = (
            f"{config.base_url}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        )

    async def start(self, events: ProviderEvents) -> None:
        # Receipts and inbound messages come through webhooks, not through this client.
        self._client = httpx.AsyncClient(
            auth=(self.config.account_sid, self.config.auth_token),
            timeout=httpx.Timeout(
                self.config.read_timeout, connect=self.config.connect_timeout, pool=None
            ),
            limits=httpx.Limits(max_connections=self.config.window),
            transport=self._transport,
        )
        self._health = ProviderHealth(True, f"sending to {self.config.base_url}")

    async def close(self) -> None:
        # Wait for what is in flight: every slot free means every answer reported.
        for _ in range(self.config.window):
            await self._slots.acquire()
        if self._client is not None:
            await self._client.aclose()
        self._health = ProviderHealth(False, "closed")

    def health(self) -> ProviderHealth:
        return self._health

    async def verify(self) -> ProviderHealth:
        """Whether the API accepts our credentials, without sending anything: the account
        resource answers 200 to its owner (`richsms doctor`)."""
        assert self._client is not None, "start() first"
        url = f"{self.config.base_url}/2010-04-01/Accounts/{self.config.account_sid}.json"
        try:
            answer = await self._client.get(url)
        except httpx.HTTPError as exc:
            return ProviderHealth(False, f"{self.config.base_url} unreachable: {exc!r}")
        if answer.status_code in (401, 403):
            return ProviderHealth(
                False, f"{self.config.base_url} refused the account sid and auth token"
            )
        if answer.status_code != 200:
            return ProviderHealth(False, f"{url} answered {answer.status_code}")
        return ProviderHealth(True, f"account {self.config.account_sid} at {self.config.base_url}")

    async def submit(self, messages: Sequence[OutgoingMessage], report: Report) -> None:
        async with asyncio.TaskGroup() as group:
            for message in messages:
                group.create_task(self._submit_one(message, report))

    async def _submit_one(self, message: OutgoingMessage, report: Report) -> None:
        async with self._slots:
            result, once = await self._send(message)
            if once:
                # A transient network answer (30003, 30008): one more try, then failed.
                await asyncio.sleep(self.config.retry_once_pause)
                result, once = await self._send(message)
                if once:
                    result = SubmitResult.failed(message.id, result.error or "")
            report(result)

    def _form(self, message: OutgoingMessage) -> dict[str, str]:
        form = {"To": message.phone, "Body": message.text}
        if message.sender:
            form["From"] = message.sender
        elif self.config.messaging_service_sid:
            form["MessagingServiceSid"] = self.config.messaging_service_sid
        if self.config.status_callback:
            form["StatusCallback"] = self.config.status_callback
        return form

    async def _send(self, message: OutgoingMessage) -> tuple[SubmitResult, bool]:
        """The answer, and whether it is one to retry once at once."""
        assert self._client is not None, "start() the provider first"
        try:
            response = await self._client.post(self._url, data=self._form(message))
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # Never connected: the request did not leave.
            self._health = ProviderHealth(False, f"{self.config.base_url}: {error!r}")
            return SubmitResult.retry(
                message.id, f"not connected: {error!r}", self._slow_down()
            ), False
        except httpx.TransportError as error:
            # Written (perhaps partly) and never answered: it may have been sent.
            return SubmitResult.unknown(message.id, f"no answer: {error!r}"), False
        self._health = ProviderHealth(True, f"sending to {self.config.base_url}")
        result = self._answer(message, response)
        return result, result.state == "retry" and _code(response) in RETRY_ONCE

    def _answer(self, message: OutgoingMessage, response: httpx.Response) -> SubmitResult:
        status = response.status_code
        if status in (200, 201):
            sid = _json(response).get("sid")
            self._backoff = 0.0
            if isinstance(sid, str) and sid:
                return SubmitResult.accepted(message.id, sid)
            return SubmitResult.unknown(message.id, f"HTTP {status} without a sid")
        if status == 429 or status >= 500:
            after = _retry_after(response)
            return SubmitResult.retry(
                message.id, f"HTTP {status}", max(after or 0.0, self._slow_down())
            )
        body = _json(response)
        code = body.get("code")
        text = f"Twilio error {code}: {body.get('message', '')}" if code else f"HTTP {status}"
        if code == OPTED_OUT:
            return SubmitResult.failed(message.id, text, opted_out=True)
        if code in RETRY_ONCE:
            return SubmitResult.retry(message.id, text, self.config.retry_once_pause)
        if code == FILTERED:
            log.warning("message %d filtered by the carrier (30007): %s", message.id, text)
        return SubmitResult.failed(message.id, text)

    def _slow_down(self) -> float:
        self._backoff = min(
            max(self._backoff * 2, self.config.backoff_initial), self.config.backoff_max
        )
        return self._backoff


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _code(response: httpx.Response) -> object:
    return _json(response).get("code") if response.status_code >= 400 else None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def from_settings(settings: Settings) -> HttpProvider:
    return HttpProvider(HttpConfig.from_settings(settings))


__all__ = ["HttpConfig", "HttpProvider", "from_settings", "webhooks"]
