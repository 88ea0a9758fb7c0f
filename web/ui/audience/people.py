"""The contacts screens (list, search, one contact's history) and the phone simulator:
with the `console` provider, what each number received, shown as on a phone, where a
reply goes through the inbound handler like a real SMS and a link opens the page."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlmodel import Session, col
from starlette.requests import Request
from starlette.responses import Response

from richsms.errors import InvalidInput
from sender.audience.contact_history import contact_history
from sender.audience.contact_search import list_contacts
from sender.delivery.inbound import handle_inbound
from sender.delivery.models import InboundMessage, Message
from web.bodies import path_id, query_int
from web.context import context
from web.ui.base import back_to
from web.ui.render import Viewer, page

SHOWN_STATES = ("sending", "sent", "delivered", "undelivered", "unknown", "failed")
_URL = re.compile(r"https?://[^\s<>\"']+")
MAX_PHONES = 200


def contacts(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    q = request.query_params.get("q", "")[:200]
    after = query_int(request, "after", 0)
    found = list_contacts(
        session=db, region=context(request).settings.default_region, q=q, after=after, limit=50
    )
    notice = request.query_params.get("notice", "")
    return page(view, "contacts.html", q=q, page_of=found, notice=notice)


def contact(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    history = contact_history(session=db, contact_id=path_id(request, "contact"))
    notice = request.query_params.get("notice", "")
    return page(view, "contact.html", history=history, notice=notice)


def linkify(text: str) -> Markup:
    """The text, escaped, with its links clickable (as a phone shows them)."""
    parts: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        parts.append(str(escape(text[last : match.start()])))
        url = escape(match.group(0))
        parts.append(f'<a href="{url}" target="_blank" rel="noopener">{url}</a>')
        last = match.end()
    parts.append(str(escape(text[last:])))
    return Markup("".join(parts))


def _conversation(db: Session, phone: str) -> list[dict[str, Any]]:
    sent = db.execute(
        select(col(Message.text), col(Message.sent_at), col(Message.state), col(Message.sender))
        .where(col(Message.phone) == phone, col(Message.state).in_(SHOWN_STATES))
        .order_by(col(Message.id).desc())
        .limit(100)
    ).all()
    received = db.execute(
        select(col(InboundMessage.text), col(InboundMessage.received_at))
        .where(col(InboundMessage.phone) == phone)
        .order_by(col(InboundMessage.id).desc())
        .limit(100)
    ).all()
    bubbles = [
        {"mine": False, "html": linkify(t), "at": at, "state": s, "sender": f}
        for t, at, s, f in sent
        if at is not None
    ]
    bubbles += [
        {"mine": True, "html": linkify(t), "at": at, "state": "", "sender": ""}
        for t, at in received
    ]
    bubbles.sort(key=lambda b: b["at"])
    return bubbles


def simulator(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    phones = db.execute(
        select(col(Message.phone), func.max(col(Message.id)).label("last"))
        .where(col(Message.state).in_(SHOWN_STATES))
        .group_by(col(Message.phone))
        .order_by(func.max(col(Message.id)).desc())
        .limit(MAX_PHONES)
    ).all()
    numbers = [p for p, _ in phones]
    chosen = request.query_params.get("phone", "") or (numbers[0] if numbers else "")
    return page(
        view,
        "simulator.html",
        numbers=numbers,
        chosen=chosen,
        bubbles=_conversation(db, chosen) if chosen else [],
        provider=context(request).settings.provider,
        notice=request.query_params.get("notice", ""),
    )


def reply(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    phone = form.get("phone", "").strip()
    text = form.get("text", "").strip()
    if not phone.startswith("+") or not text or len(text) > 1600:
        raise InvalidInput("a reply needs the number it comes from and a text")
    to = db.execute(
        select(col(Message.sender))
        .where(col(Message.phone) == phone)
        .order_by(col(Message.id).desc())
        .limit(1)
    ).scalar()
    ctx = context(request)
    handle_inbound(
        session=db, phone=phone, to=to or "", text=text, clock=ctx.clock, settings=ctx.settings
    )
    return back_to(f"/ui/simulator?phone={phone.replace('+', '%2B')}")
