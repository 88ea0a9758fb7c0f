"""Every screen of the marketers' UI with the demo data (`sender.demo`): what bench/ui.py
times and tests/core/test_i18n.py reads in French. `{campaign}` is the demo's sent
campaign, `{draft}` the one awaiting approval, `{page}` its page."""

from __future__ import annotations

SCREENS = [
    "/ui/signin",
    "/ui/",
    "/ui/campaigns/new",
    "/ui/campaigns/{campaign}",
    "/ui/campaigns/{draft}",
    "/ui/contacts",
    "/ui/contacts?q=Martin",
    "/ui/contacts/1",
    "/ui/contacts/import",
    "/ui/groups",
    "/ui/groups/1",
    "/ui/segments",
    "/ui/senders",
    "/ui/settings",
    "/ui/messages",
    "/ui/pages",
    "/ui/pages/{page}",
    "/ui/pages/{page}/preview",
    "/ui/simulator",
]
