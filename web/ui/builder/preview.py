"""The page builder's preview: the draft as a chosen contact sees it (rolled back, so
nothing is recorded), and the contact picker listing a group's, a segment's or all
contacts."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from richsms.errors import InvalidInput, RichsmsError
from sender.audience.contact_search import list_contacts
from web.bodies import path_id
from web.context import context
from web.recipients.page_server import page_headers
from web.ui.render import Viewer, fragment

PICKER_LIMIT = 100
_NONCE = re.compile(r'<script nonce="([A-Za-z0-9_-]+)"')


def contacts_of_audience(request: Request, db: Session, audience: str, q: str = "") -> list[Any]:
    kind, _, number = audience.partition("-")
    groups = [int(number)] if kind == "group" and number.isdigit() else []
    segments = [int(number)] if kind == "segment" and number.isdigit() else []
    try:
        found = list_contacts(
            session=db,
            region=context(request).settings.default_region,
            q=q,
            group_ids=groups,
            segment_ids=segments,
            limit=PICKER_LIMIT,
        )
    except RichsmsError:
        return []
    return found.contacts


def audience_contacts(
    request: Request, db: Session, view: Viewer, _form: dict[str, str]
) -> Response:
    """The contact picker's options for the chosen audience (group, segment or all)."""
    audience = request.query_params.get("audience", "")[:40]
    q = request.query_params.get("q", "")[:100]
    return fragment(
        view, "builder_contacts.html", contacts=contacts_of_audience(request, db, audience, q),
        chosen=None,
    )


def preview(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    """The draft as the chosen contact sees it, framed by the builder. Rolled back, so
    nothing is recorded or assigned; its scripts run by nonce only."""
    page_id = path_id(request, "page")
    raw = request.query_params.get("contact_id", "")
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
        raise InvalidInput("contact_id is a contact's id")
    try:
        html: str = context(request).pages.preview(
            session=db, page_id=page_id, contact_id=int(raw) if raw else None
        )
    finally:
        db.rollback()
    nonce = _NONCE.search(html)
    headers = page_headers(nonce.group(1) if nonce else None)
    # Framed by the builder, and sandboxed however it is opened: its scripts run in an
    # origin of their own, out of reach of the UI's session and pages.
    headers["content-security-policy"] = (
        headers["content-security-policy"].replace(
            "frame-ancestors 'none'", "frame-ancestors 'self'"
        )
        + "; sandbox allow-scripts"
    )
    return HTMLResponse(html, headers=headers)
