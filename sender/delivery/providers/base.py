"""The provider interface: what the worker hands over, what comes back.

A worker hands a provider a batch of claimed messages (`submit`). The provider keeps up
to `window` of them in flight at once and reports each message's answer through the
`report` callback as soon as it comes, in any order:

- `accepted`  with the provider's id for the message (one id per part for a long SMS
  sent as several parts: `provider_ids`);
- `failed`    a permanent refusal, never retried;
- `retry`     known not to have been sent (throttled, queue full, a 429 or 5xx answered
  before the request was read): queued again later, `retry_after` seconds at least;
- `unknown`   written to the wire but never answered (a lost connection, a timeout after
  the request was sent): it may have left, so it is never resent automatically.

`submit` returns once every message of the batch has been reported exactly once.

Receipts and inbound messages arrive on the provider's own connection (SMPP
`deliver_sm`) or through its webhooks (HTTP). A provider hands them to the `events`
sink it was started with; the sink stores them durably before it returns, so that a
provider may acknowledge them to the network only afterwards. Webhooks are parsed by
the provider's own `webhooks` object, so that `web/` stays a thin edge.

Everything here is asyncio: SMPP and HTTP clients are asynchronous, and a window of
outstanding requests is a handful of coroutines, not threads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

SubmitState = Literal["accepted", "failed", "retry", "unknown"]
# A delivery receipt's verdict, in our words (each provider maps its own).
ReceiptState = Literal["delivered", "undelivered", "expired", "rejected", "unknown", "sent"]


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What a provider needs of an outbox message."""

    id: int
    phone: str  # E.164
    sender: str  # the number or alphanumeric id it is sent from ("" = provider default)
    sender_kind: str  # short_code, long_code, alphanumeric, or "" when unknown
    text: str
    type: str  # promotional, informational, administrative
    encoding: str  # GSM-7 or UCS-2, as sender.compose.encoding decided
    segments: int


@dataclass(frozen=True, slots=True)
class SubmitResult:
    message_id: int
    state: SubmitState
    provider_ids: tuple[str, ...] = ()
    error: str | None = None
    retry_after: float | None = None
    # The network says the recipient opted out (Twilio 21610): the contact is opted out.
    opted_out: bool = False

    @classmethod
    def accepted(cls, message_id: int, *provider_ids: str) -> SubmitResult:
        return cls(message_id, "accepted", provider_ids=tuple(provider_ids))

    @classmethod
    def failed(cls, message_id: int, error: str, *, opted_out: bool = False) -> SubmitResult:
        return cls(message_id, "failed", error=error, opted_out=opted_out)

    @classmethod
    def retry(cls, message_id: int, error: str, after: float | None = None) -> SubmitResult:
        return cls(message_id, "retry", error=error, retry_after=after)

    @classmethod
    def unknown(cls, message_id: int, error: str) -> SubmitResult:
        return cls(message_id, "unknown", error=error)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt (or status callback) for one provider id."""

    provider: str
    provider_id: str
    state: ReceiptState
    at: datetime
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message a recipient sent us."""

    provider: str
    phone: str  # E.164, as the network gives it (never reinterpreted)
    to: str
    text: str
    at: datetime
    provider_id: str | None = None
    # Set when the network already classified it (Twilio's OptOutType): "STOP", "START"...
    opt_out_type: str | None = None


class ProviderEvents(Protocol):
    """Where a provider hands receipts and inbound messages; each call returns once the
    event is stored, so the provider may acknowledge it afterwards."""

    async def receipt(self, receipt: Receipt) -> None: ...

    async def receipt_batch(self, receipts: Sequence[Receipt]) -> None:
        """Several receipts at once (one transaction where the sink can)."""
        ...

    async def inbound(self, message: Inbound) -> None: ...


Report = Callable[[SubmitResult], None]


class Provider(Protocol):
    name: str
    window: int  # how many submits it keeps in flight at most

    async def start(self, events: ProviderEvents) -> None:
        """Connect (bind, open the HTTP client); receipts and inbound go to `events`."""
        ...

    async def submit(self, messages: Sequence[OutgoingMessage], report: Report) -> None:
        """Hand over `messages`, reporting each one once; at most `window` in flight,
        counting every batch being handed over (a worker hands over two at once)."""
        ...

    async def close(self) -> None:
        """Stop: finish or report what is in flight, then disconnect."""
        ...

    def health(self) -> ProviderHealth:
        """For /healthz: connected or not, and the last error (a refused bind...)."""
        ...


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """An HTTP request to one of a provider's webhooks, as `web/` hands it over."""

    url: str  # the public URL, built from RICHSMS_BASE_URL (signatures are over it)
    headers: Mapping[str, str]
    form: Sequence[tuple[str, str]]
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """What a webhook carried, once checked; `web/` records it and answers `reply`."""

    receipts: Sequence[Receipt] = field(default_factory=tuple)
    inbound: Sequence[Inbound] = field(default_factory=tuple)
    reply_body: str = ""
    reply_type: str = "text/plain"
