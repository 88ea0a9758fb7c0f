"""Roles and what each may do: the one matrix the API's route table, the UI's routes, the
staff page and the CLI all ask (`allows`).

A route declares the permission it needs where it is declared (`web.openapi.RouteTable`,
`web.ui.routes`); a user holds one role; an API token carries its user's role (a token
belonging to nobody, as `richsms token create NAME` makes, is an administrator's).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from richsms.errors import Forbidden, InvalidInput


class Role(StrEnum):
    ADMIN = "admin"
    """Everything, users and settings included."""
    MARKETER = "marketer"
    """Builds and sends: audiences, pages, messages, campaigns."""
    APPROVER = "approver"
    """Approves campaigns (never their own) and reads results."""
    CASHIER = "cashier"
    """The staff redemption page only, signed in through the UI; never an API token."""
    VIEWER = "viewer"
    """Results only."""


class Permission(StrEnum):
    RESULTS = "results"
    """Campaigns, their messages, results, statistics and exports."""
    AUDIENCE = "audience"
    """Contacts, imports, groups, segments and inbound messages."""
    BUILD = "build"
    """Pages, images, coupon pools, messages, links, campaigns: build, test, send, cancel."""
    APPROVE = "approve"
    """Approve a campaign awaiting approval (someone else's)."""
    REDEEM = "redeem"
    """Read and redeem coupons (the staff page)."""
    ADMINISTER = "administer"
    """Sender numbers, webhooks, inbound messages from other sources, users."""


MATRIX: Final[dict[Role, frozenset[Permission]]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MARKETER: frozenset(
        {Permission.RESULTS, Permission.AUDIENCE, Permission.BUILD}
    ),
    Role.APPROVER: frozenset({Permission.RESULTS, Permission.APPROVE}),
    Role.CASHIER: frozenset({Permission.REDEEM}),
    Role.VIEWER: frozenset({Permission.RESULTS}),
}

API_ROLES: Final = frozenset(Role) - {Role.CASHIER}
"""Roles whose users may hold an API token."""


def allows(role: Role, needs: Permission) -> bool:
    return needs in MATRIX[role]


def require(role: Role, needs: Permission) -> None:
    """Raise Forbidden, saying which role lacks what, unless `role` may `needs`."""
    if not allows(role, needs):
        raise Forbidden(refusal(role, needs))


def refusal(role: Role, needs: Permission) -> str:
    return f"the {role} role may not do this (it needs the {needs} permission)"


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        names = ", ".join(role.value for role in Role)
        raise InvalidInput(f"unknown role {value!r}: one of {names}") from None
