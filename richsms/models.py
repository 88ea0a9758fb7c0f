"""Every table, imported in one place so that Alembic sees the whole schema."""

from richsms.accounts import AdminUser, ApiToken
from sender.models import (
    Automation,
    AutomationRun,
    Campaign,
    ConsentEvent,
    Contact,
    ContactGroup,
    GroupMember,
    InboundMessage,
    Message,
    RateBucket,
    Segment,
    SenderNumber,
)
from shortener.models import Click, Link, LinkChange

__all__ = [
    "AdminUser",
    "ApiToken",
    "Automation",
    "AutomationRun",
    "Campaign",
    "Click",
    "ConsentEvent",
    "Contact",
    "ContactGroup",
    "GroupMember",
    "InboundMessage",
    "Link",
    "LinkChange",
    "Message",
    "RateBucket",
    "Segment",
    "SenderNumber",
]
