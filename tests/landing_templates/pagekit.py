"""Pages and contacts for tests: a published page with every personal block, and contacts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from richsms.clock import Clock
from richsms.db import session_scope
from sender.audience.models import Contact


def rich_blocks(now: datetime, *, seconds_left: int = 3600) -> list[dict[str, Any]]:
    return [
        {"type": "heading", "text": "Hello {{ contact.first_name | default('friend') }}"},
        {"type": "text", "text": "Our winter sale is on.\n\nShow this page at the till."},
        {
            "type": "countdown",
            "deadline": (now + timedelta(seconds=seconds_left)).isoformat(),
            "expired_text": "The offer has ended",
            "label": "Ends in",
        },
        {"id": "cp", "type": "coupon", "source": "generate", "pattern": "NOEL-######",
         "symbology": "code128", "label": "Your code"},
        {"id": "qr", "type": "coupon", "source": "generate", "pattern": "QR-######",
         "symbology": "qr"},
        {"id": "sc", "type": "scratch", "prize": "coupon", "text": "You won 10%!",
         "coupon": {"source": "generate", "pattern": "SCR-######", "symbology": "code128"}},
        {"id": "wh", "type": "wheel", "prizes": [
            {"label": "5%", "weight": 1},
            {"label": "10%", "weight": 1, "coupon": True},
            {"label": "Free gift", "weight": 1},
        ], "coupon": {"source": "generate", "pattern": "WIN-######"}},
        {"type": "button", "label": "Call us", "href": "tel:+33123456789"},
        {"type": "footer", "text": "Shop Example, Paris. STOP au 36180."},
    ]


def add_contact(engine: Engine, clock: Clock, *, first_name: str, phone: str,
                language: str = "en", **fields: Any) -> int:
    now = clock.now()
    with session_scope(engine) as session:
        contact = Contact(phone=phone, first_name=first_name, language=language,
                          fields=fields, created_at=now, updated_at=now)
        session.add(contact)
        session.flush()
        assert contact.id is not None
        return contact.id
