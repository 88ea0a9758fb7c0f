"""Every table, imported in one place so that Alembic sees the whole schema."""

from richsms.accounts import AdminUser, ApiToken

__all__ = ["AdminUser", "ApiToken"]
