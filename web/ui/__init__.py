"""The marketers' web UI at `/ui/`: server-rendered pages over the same use cases as the
API, signed in with a session cookie, every form CSRF-protected."""

from __future__ import annotations

from starlette.routing import Route

from web.ui import auth, builder, campaigns, composer, people
from web.ui.base import signed_in


def routes() -> list[Route]:
    get, post = ["GET"], ["POST"]
    return [
        Route("/", auth.root, methods=get),
        Route("/ui/signin", auth.signin_form, methods=get),
        Route("/ui/signin", auth.signin, methods=post),
        Route("/ui/signout", auth.signout, methods=post),
        Route("/ui/lang", auth.switch_language, methods=post),
        Route("/ui/", signed_in(campaigns.dashboard), methods=get),
        Route("/ui/campaigns/new", signed_in(composer.new_campaign), methods=get),
        Route("/ui/campaigns/new", signed_in(composer.create), methods=post),
        Route("/ui/analyze", signed_in(composer.analyze), methods=post),
        Route("/ui/campaigns/{id}", signed_in(campaigns.campaign_page), methods=get),
        Route("/ui/campaigns/{id}/approve", signed_in(campaigns.approve), methods=post),
        Route("/ui/campaigns/{id}/send", signed_in(campaigns.send), methods=post),
        Route("/ui/campaigns/{id}/cancel", signed_in(campaigns.cancel), methods=post),
        Route("/ui/campaigns/{id}/test", signed_in(campaigns.test), methods=post),
        Route(
            "/ui/campaigns/{id}/export/messages.csv",
            signed_in(campaigns.export_messages),
            methods=get,
        ),
        Route(
            "/ui/campaigns/{id}/export/clicks.csv", signed_in(campaigns.export_clicks), methods=get
        ),
        Route("/ui/contacts", signed_in(people.contacts), methods=get),
        Route("/ui/contacts/{id}", signed_in(people.contact), methods=get),
        Route("/ui/simulator", signed_in(people.simulator), methods=get),
        Route("/ui/simulator/reply", signed_in(people.reply), methods=post),
        *builder_routes(get, post),
    ]


def builder_routes(get: list[str], post: list[str]) -> list[Route]:
    page = "/ui/pages/{id}"
    block = page + "/blocks/{block}"
    return [
        Route("/ui/pages", signed_in(builder.pages), methods=get),
        Route("/ui/pages", signed_in(builder.new_page), methods=post),
        Route(page, signed_in(builder.builder), methods=get),
        Route(page + "/blocks", signed_in(builder.add_block), methods=post),
        Route(page + "/images", builder.upload_image, methods=post),
        Route(block, signed_in(builder.edit_block), methods=post),
        Route(block + "/delete", signed_in(builder.delete_block), methods=post),
        Route(block + "/move", signed_in(builder.move_block), methods=post),
        Route(page + "/order", signed_in(builder.reorder), methods=post),
        Route(page + "/save", signed_in(builder.save), methods=post),
        Route(page + "/publish", signed_in(builder.publish), methods=post),
        Route(page + "/contacts", signed_in(builder.audience_contacts), methods=get),
        Route(page + "/preview", signed_in(builder.preview), methods=get),
    ]
