"""An automation's message to one recipient, whether its date came (`automations`) or an
event arrived (`triggers`): the rendered draft finished with a link of the automation's
own, or, when it cannot be produced, an `error` message that shows why (never sent, never
retried)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session

from richsms.clock import Clock
from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender.campaigns.models import Automation
from sender.campaigns.unitary import PROMOTIONAL_WINDOW
from sender.compose.composition import Draft
from sender.delivery.outbox import EMPTY, NewMessage, enqueue_many
from shortener.codes import CodeMaker
from shortener.links import LinkSpec, create_links


@dataclass(frozen=True, slots=True)
class Rendered:
    """One recipient's message as rendered: the draft, or None and why the template failed
    for them (`whom`, "contact" or "event", says what it failed for)."""

    phone: str
    contact_id: int | None
    timezones: str
    due_at: datetime
    draft: Draft | None
    error: str | None
    whom: str


@dataclass(frozen=True, slots=True)
class Enqueued:
    """A message added to the outbox: its id, and why it is an `error` message if it is."""

    id: int
    error: str | None


def enqueue_rendered(
    session: Session,
    clock: Clock,
    settings: Settings,
    codes: CodeMaker,
    automation: Automation,
    rendered: Sequence[Rendered],
    now: datetime,
) -> list[Enqueued]:
    """Add the automation's messages to the outbox, their links and rows each in one
    statement (flushes); one outcome per rendered message, in order."""
    base = NewMessage(
        phone="",
        type=automation.type,
        automation_id=automation.id,
        window=PROMOTIONAL_WINDOW if automation.type == "promotional" else "",
    )
    linked = [
        n for n, r in enumerate(rendered)
        if r.draft is not None and r.draft.composer.uses_link and automation.target_url
    ]
    links: dict[int, tuple[str, int]] = {}
    if linked:
        issued = create_links(
            session=session,
            codes=codes,
            clock=clock,
            spec=LinkSpec(url=automation.target_url or ""),
            contact_ids=[rendered[n].contact_id for n in linked],
        )
        short = settings.short_url
        links = {n: (short + i.code, i.id) for n, i in zip(linked, issued, strict=True)}
    messages = [
        _message(replace(base, phone=r.phone, due_at=r.due_at, contact_id=r.contact_id,
                         timezones=r.timezones), r, links.get(n))
        for n, r in enumerate(rendered)
    ]
    ids = enqueue_many(session=session, messages=messages, now=now)
    return [Enqueued(i, m.error) for i, m in zip(ids, messages, strict=True)]


def _message(message: NewMessage, rendered: Rendered, link: tuple[str, int] | None) -> NewMessage:
    """The message finished with its link, or an `error` message saying why it cannot be."""
    failed = f"template failed for this {rendered.whom}"
    if rendered.draft is None:
        return replace(message, error=f"{failed}: {rendered.error}")
    url, link_id = link if link is not None else ("", None)
    try:
        text = rendered.draft.finish(url).text
    except InvalidInput as exc:  # too long once its link is in, or empty
        return replace(message, error=f"{failed}: {exc.message}")
    if not text:
        return replace(message, error=f"{failed}: {EMPTY}")
    return replace(message, text=text, link_id=link_id)
