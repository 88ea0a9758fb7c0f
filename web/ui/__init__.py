"""The marketers' web UI at `/ui/`: server-rendered pages over the same use cases as the
API, signed in with a session cookie, every form CSRF-protected."""

from __future__ import annotations

from starlette.routing import Route

from web.ui import (
    auth,
    campaign_send,
    campaigns,
    compare,
    composer,
    contacts_edit,
    contacts_import,
    groups,
    library,
    people,
    segments,
    senders,
)
from web.ui.base import signed_in
from web.ui.builder import blocks as builder_blocks
from web.ui.builder import preview as builder_preview
from web.ui.builder import workspace as builder


def routes() -> list[Route]:
    get, post = ["GET"], ["POST"]
    return [
        Route("/", auth.root, methods=get),
        Route("/ui/signin", auth.signin_form, methods=get),
        Route("/ui/signin", auth.signin, methods=post),
        Route("/ui/signout", auth.signout, methods=post),
        Route("/ui/lang", auth.switch_language, methods=post),
        Route("/ui/", signed_in(campaigns.dashboard), methods=get),
        Route("/ui/compare", signed_in(compare.compare), methods=get),
        Route("/ui/campaigns/new", signed_in(composer.new_campaign), methods=get),
        Route("/ui/campaigns/new", signed_in(composer.create), methods=post),
        Route("/ui/analyze", signed_in(composer.analyze), methods=post),
        Route("/ui/campaigns/{id}", signed_in(campaigns.campaign_page), methods=get),
        Route("/ui/campaigns/{id}/edit", signed_in(composer.edit_form), methods=get),
        Route("/ui/campaigns/{id}/edit", signed_in(composer.edit), methods=post),
        Route("/ui/campaigns/{id}/duplicate", signed_in(composer.duplicate), methods=post),
        Route("/ui/campaigns/{id}/approve", signed_in(campaigns.approve), methods=post),
        Route("/ui/campaigns/{id}/send", signed_in(campaign_send.summary), methods=get),
        Route("/ui/campaigns/{id}/send", signed_in(campaign_send.send), methods=post),
        Route("/ui/campaigns/{id}/cancel", signed_in(campaign_send.cancel_form), methods=get),
        Route("/ui/campaigns/{id}/cancel", signed_in(campaign_send.cancel), methods=post),
        Route("/ui/campaigns/{id}/test", signed_in(campaigns.test), methods=post),
        Route(
            "/ui/campaigns/{id}/export/messages.csv",
            signed_in(campaigns.export_messages),
            methods=get,
        ),
        Route(
            "/ui/campaigns/{id}/export/clicks.csv", signed_in(campaigns.export_clicks), methods=get
        ),
        Route(
            "/ui/campaigns/{id}/export/excel-fr/messages.csv",
            signed_in(campaigns.export_messages_excel),
            methods=get,
        ),
        Route(
            "/ui/campaigns/{id}/export/excel-fr/clicks.csv",
            signed_in(campaigns.export_clicks_excel),
            methods=get,
        ),
        Route("/ui/contacts", signed_in(people.contacts), methods=get),
        *audience_routes(get, post),
        Route("/ui/contacts/{id}", signed_in(people.contact), methods=get),
        Route("/ui/simulator", signed_in(people.simulator), methods=get),
        Route("/ui/simulator/reply", signed_in(people.reply), methods=post),
        *builder_routes(get, post),
    ]


def audience_routes(get: list[str], post: list[str]) -> list[Route]:
    """Contacts import and editing, groups, segments, senders, the message library."""
    one = "/ui/contacts/{id}"
    return [
        Route("/ui/contacts/import", signed_in(contacts_import.import_form), methods=get),
        Route("/ui/contacts/import", contacts_import.upload, methods=post),
        Route(
            "/ui/contacts/imports/{report}/rejected.csv",
            signed_in(contacts_import.rejected_rows),
            methods=get,
        ),
        Route(one + "/edit", signed_in(contacts_edit.edit_form), methods=get),
        Route(one + "/edit", signed_in(contacts_edit.edit), methods=post),
        Route(one + "/erase", signed_in(contacts_edit.erase_form), methods=get),
        Route(one + "/erase", signed_in(contacts_edit.erase), methods=post),
        Route("/ui/groups", signed_in(groups.groups), methods=get),
        Route("/ui/groups", signed_in(groups.create), methods=post),
        Route("/ui/groups/{id}", signed_in(groups.group), methods=get),
        Route("/ui/groups/{id}/rename", signed_in(groups.rename), methods=post),
        Route("/ui/groups/{id}/members", signed_in(groups.add), methods=post),
        Route("/ui/groups/{id}/members/remove", signed_in(groups.remove), methods=post),
        Route("/ui/groups/{id}/delete", signed_in(groups.delete), methods=post),
        Route("/ui/segments", signed_in(segments.segments), methods=get),
        Route("/ui/segments", signed_in(segments.save), methods=post),
        Route("/ui/segments/count", signed_in(segments.count), methods=post),
        Route("/ui/segments/{id}", signed_in(segments.edit_form), methods=get),
        Route("/ui/segments/{id}", signed_in(segments.edit), methods=post),
        Route("/ui/segments/{id}/duplicate", signed_in(segments.duplicate), methods=post),
        Route("/ui/segments/{id}/delete", signed_in(segments.delete), methods=post),
        Route("/ui/senders", signed_in(senders.senders), methods=get),
        Route("/ui/senders", signed_in(senders.add), methods=post),
        Route("/ui/messages", signed_in(library.library), methods=get),
        Route("/ui/messages", signed_in(library.save), methods=post),
        Route("/ui/messages/{id}/delete", signed_in(library.delete), methods=post),
    ]


def builder_routes(get: list[str], post: list[str]) -> list[Route]:
    page = "/ui/pages/{id}"
    block = page + "/blocks/{block}"
    change = builder.change_route
    return [
        Route("/ui/pages", signed_in(builder.pages), methods=get),
        Route("/ui/pages", signed_in(builder.new_page), methods=post),
        Route(page, signed_in(builder.builder), methods=get),
        Route(page + "/blocks", change(builder_blocks.add_block), methods=post),
        Route(page + "/images", builder_blocks.upload_image, methods=post),
        Route(block, change(builder_blocks.edit_block), methods=post),
        Route(block + "/delete", change(builder_blocks.delete_block), methods=post),
        Route(block + "/move", change(builder_blocks.move_block), methods=post),
        Route(page + "/order", change(builder_blocks.reorder), methods=post),
        Route(page + "/save", change(builder.save), methods=post),
        Route(page + "/duplicate", signed_in(builder.duplicate), methods=post),
        Route(page + "/publish", change(builder.publish), methods=post),
        Route(page + "/contacts", signed_in(builder_preview.audience_contacts), methods=get),
        Route(page + "/preview", signed_in(builder_preview.preview), methods=get),
    ]
