"""The marketers' web UI at `/ui/`: server-rendered pages over the same use cases as the
API, signed in with a session cookie, every form CSRF-protected. Each route is declared
with the permission it needs (richsms/accounts/roles.py; None: open to anyone)."""

from __future__ import annotations

from richsms.accounts.roles import Permission
from web.ui import account, auth, automations, library, senders
from web.ui.audience import contacts_edit, contacts_import, groups, inbox, people, segments
from web.ui.base import Handler, UiRoute, signed_in
from web.ui.builder import blocks as builder_blocks
from web.ui.builder import preview as builder_preview
from web.ui.builder import workspace as builder
from web.ui.campaigns import ab_test, compare, composer, screens, send

RESULTS, AUDIENCE, BUILD = Permission.RESULTS, Permission.AUDIENCE, Permission.BUILD
GET, POST = "GET", "POST"


def form(path: str, show: Handler, submit: Handler, needs: Permission) -> list[UiRoute]:
    """A signed-in form: its page (GET) and its submission (POST) on one path, one
    permission."""
    return [
        UiRoute(path, signed_in(show), GET, needs),
        UiRoute(path, signed_in(submit), POST, needs),
    ]


def routes() -> list[UiRoute]:
    one = "/ui/campaigns/{id}"
    export = one + "/export"
    return [
        UiRoute("/", auth.root, GET, None),
        UiRoute("/ui/signin", auth.signin_form, GET, None),
        UiRoute("/ui/signin", auth.signin, POST, None),
        UiRoute("/ui/signout", auth.signout, POST, None),
        UiRoute("/ui/lang", auth.switch_language, POST, None),
        UiRoute("/ui/", signed_in(screens.dashboard), GET, RESULTS),
        UiRoute("/ui/compare", signed_in(compare.compare), GET, RESULTS),
        *form("/ui/campaigns/new", composer.new_campaign, composer.create, BUILD),
        UiRoute("/ui/analyze", signed_in(composer.analyze), POST, BUILD),
        UiRoute(one, signed_in(screens.campaign_page), GET, RESULTS),
        *form(one + "/edit", composer.edit_form, composer.edit, BUILD),
        UiRoute(one + "/duplicate", signed_in(composer.duplicate), POST, BUILD),
        UiRoute(one + "/approve", signed_in(screens.approve), POST, Permission.APPROVE),
        *form(one + "/send", send.summary, send.send, BUILD),
        *form(one + "/cancel", send.cancel_form, send.cancel, BUILD),
        UiRoute(one + "/test", signed_in(screens.test), POST, BUILD),
        UiRoute(one + "/ab_test/decision", signed_in(ab_test.choose), POST, BUILD),
        UiRoute(export + "/messages.csv", signed_in(screens.export_messages), GET, RESULTS),
        UiRoute(export + "/clicks.csv", signed_in(screens.export_clicks), GET, RESULTS),
        UiRoute(
            export + "/excel-fr/messages.csv",
            signed_in(screens.export_messages_excel),
            GET,
            RESULTS,
        ),
        UiRoute(
            export + "/excel-fr/clicks.csv", signed_in(screens.export_clicks_excel), GET, RESULTS
        ),
        UiRoute("/ui/contacts", signed_in(people.contacts), GET, AUDIENCE),
        *audience_routes(),
        UiRoute("/ui/contacts/{id}", signed_in(people.contact), GET, AUDIENCE),
        UiRoute("/ui/inbound/review", signed_in(inbox.review), GET, AUDIENCE),
        UiRoute(
            "/ui/inbound/{id}/answer", signed_in(inbox.answer), POST, BUILD
        ),
        UiRoute("/ui/inbound/{id}/close", signed_in(inbox.close), POST, AUDIENCE),
        UiRoute("/ui/simulator", signed_in(people.simulator), GET, BUILD),
        UiRoute("/ui/simulator/reply", signed_in(people.reply), POST, BUILD),
        *builder_routes(),
    ]


def audience_routes() -> list[UiRoute]:
    """Contacts import and editing, groups, segments, senders, the message library."""
    one = "/ui/contacts/{id}"
    return [
        UiRoute("/ui/contacts/import", signed_in(contacts_import.import_form), GET, AUDIENCE),
        UiRoute("/ui/contacts/import", contacts_import.upload, POST, AUDIENCE),
        UiRoute(
            "/ui/contacts/imports/{report}/rejected.csv",
            signed_in(contacts_import.rejected_rows),
            GET,
            AUDIENCE,
        ),
        *form(one + "/edit", contacts_edit.edit_form, contacts_edit.edit, AUDIENCE),
        *form(one + "/erase", contacts_edit.erase_form, contacts_edit.erase, AUDIENCE),
        *form("/ui/groups", groups.groups, groups.create, AUDIENCE),
        UiRoute("/ui/groups/{id}", signed_in(groups.group), GET, AUDIENCE),
        UiRoute("/ui/groups/{id}/rename", signed_in(groups.rename), POST, AUDIENCE),
        UiRoute("/ui/groups/{id}/members", signed_in(groups.add), POST, AUDIENCE),
        UiRoute("/ui/groups/{id}/members/remove", signed_in(groups.remove), POST, AUDIENCE),
        UiRoute("/ui/groups/{id}/delete", signed_in(groups.delete), POST, AUDIENCE),
        *form("/ui/segments", segments.segments, segments.save, AUDIENCE),
        UiRoute("/ui/segments/count", signed_in(segments.count), POST, AUDIENCE),
        *form("/ui/segments/{id}", segments.edit_form, segments.edit, AUDIENCE),
        UiRoute("/ui/segments/{id}/duplicate", signed_in(segments.duplicate), POST, AUDIENCE),
        UiRoute("/ui/segments/{id}/delete", signed_in(segments.delete), POST, AUDIENCE),
        UiRoute("/ui/senders", signed_in(senders.senders), GET, BUILD),
        UiRoute("/ui/senders", signed_in(senders.add), POST, Permission.ADMINISTER),
        UiRoute("/ui/settings", signed_in(account.settings), GET, BUILD),
        UiRoute("/ui/settings", signed_in(account.save), POST, Permission.ADMINISTER),
        *form("/ui/messages", library.library, library.save, BUILD),
        *form("/ui/automations", automations.automations, automations.create, BUILD),
        UiRoute("/ui/automations/{id}/secret", signed_in(automations.new_secret), POST, BUILD),
        UiRoute("/ui/messages/{id}/delete", signed_in(library.delete), POST, BUILD),
    ]


def builder_routes() -> list[UiRoute]:
    page = "/ui/pages/{id}"
    block = page + "/blocks/{block}"
    change = builder.change_route
    return [
        *form("/ui/pages", builder.pages, builder.new_page, BUILD),
        UiRoute(page, signed_in(builder.builder), GET, BUILD),
        UiRoute(page + "/blocks", change(builder_blocks.add_block), POST, BUILD),
        UiRoute(page + "/images", builder_blocks.upload_image, POST, BUILD),
        UiRoute(block, change(builder_blocks.edit_block), POST, BUILD),
        UiRoute(block + "/delete", change(builder_blocks.delete_block), POST, BUILD),
        UiRoute(block + "/move", change(builder_blocks.move_block), POST, BUILD),
        UiRoute(page + "/order", change(builder_blocks.reorder), POST, BUILD),
        UiRoute(page + "/save", change(builder.save), POST, BUILD),
        UiRoute(page + "/duplicate", signed_in(builder.duplicate), POST, BUILD),
        UiRoute(page + "/translate", signed_in(builder.translate), POST, BUILD),
        UiRoute(page + "/publish", change(builder.publish), POST, BUILD),
        UiRoute(page + "/contacts", signed_in(builder_preview.audience_contacts), GET, BUILD),
        UiRoute(page + "/preview", signed_in(builder_preview.preview), GET, BUILD),
    ]
