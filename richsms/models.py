"""Every table, imported in one place so that Alembic sees the whole schema."""

from richsms.accounts import AdminUser, ApiToken
from shortener.models import Click, Link, LinkChange

__all__ = ["AdminUser", "ApiToken", "Click", "Link", "LinkChange"]
