"""An automation's message to one recipient, whether its date came (`automations`) or an
event arrived (`triggers`): the rendered draft finished with a link of the automation's
own, or, when it cannot be produced, an `error` message that shows why (never sent, never
retried)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session

from richsms.clock import Clock
from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender.campaigns.models import Automation
from sender.campaigns.unitary import PROMOTIONAL_WINDOW
from sender.compose.composition import Draft
from sender.delivery.models import Message
from sender.delivery.outbox import NewMessage, enqueue
from shortener.codes import CodeMaker
from shortener.links import LinkSpec, create_link


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


def enqueue_rendered(
    session: Session,
    clock: Clock,
    settings: Settings,
    codes: CodeMaker,
    automation: Automation,
    rendered: Rendered,
    now: datetime,
) -> Message:
    """Add the automation's message to the outbox (flushes)."""
    message = NewMessage(
        phone=rendered.phone,
        type=automation.type,
        due_at=rendered.due_at,
        contact_id=rendered.contact_id,
        automation_id=automation.id,
        timezones=rendered.timezones,
        window=PROMOTIONAL_WINDOW if automation.type == "promotional" else "",
    )

    def add(text: str, error: str | None = None, link_id: int | None = None) -> Message:
        outcome = replace(message, text=text, error=error, link_id=link_id)
        return enqueue(session=session, message=outcome, now=now)

    failed = f"template failed for this {rendered.whom}"
    if rendered.draft is None:
        return add(text="", error=f"{failed}: {rendered.error}")
    link, link_id = "", None
    if rendered.draft.composer.uses_link and automation.target_url:
        spec = LinkSpec(url=automation.target_url)
        issued = create_link(
            session=session, codes=codes, clock=clock, spec=spec, contact_id=rendered.contact_id
        )
        link, link_id = settings.short_url + issued.code, issued.id
    try:
        return add(text=rendered.draft.finish(link).text, link_id=link_id)
    except InvalidInput as exc:  # too long once its link is in, or empty
        return add(text="", error=f"{failed}: {exc.message}")
