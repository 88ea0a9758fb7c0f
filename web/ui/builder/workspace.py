"""The page builder, page-level: the list of pages, one page's workspace (its blocks with
their forms, its versions, beside it a live preview in a phone frame as any contact of a
chosen audience), saving the page's name, language and theme, and publishing it.

Editing the blocks is `web.ui.builder.blocks`, the preview `web.ui.builder.preview`.
Every change goes through `update_page`, so the draft is always what was last done: the
first change after a publication starts a new draft version, published ones never change.
An htmx request gets the workspace back with a `page-changed` event (builder.js then
reloads the preview); a plain form post is redirected to the builder.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response

from landing_templates.blocks import BLOCK_TYPES
from landing_templates.coupons.pools import listed_pools
from landing_templates.links import move_links
from landing_templates.models import LANGUAGES, PageImage, PageVersion
from landing_templates.pages import (
    PageState,
    create_page,
    duplicate_page,
    get_page,
    list_pages,
    publish_page,
    translate_page,
    update_page,
)
from landing_templates.validation import Theme
from richsms.errors import RichsmsError
from richsms.i18n import N_
from sender.audience.groups import list_groups
from sender.audience.segments import list_segments
from sender.campaigns.campaign import known_custom_fields
from web.bodies import path_id
from web.context import context
from web.errors import status_of
from web.ui.base import back_to, signed_in
from web.ui.builder.forms import TYPE_LABELS, fields_of, prize_rows, summary, values_of
from web.ui.builder.preview import contacts_of_audience
from web.ui.render import Viewer, fragment, page

STANDARD_FIELDS = ("first_name", "last_name", "phone", "email")
COLOURS = ("primary", "background", "text")  # the theme's colours, as Theme names them
THEME_DEFAULTS = Theme().model_dump(exclude_none=True)


# ---- the list of pages ------------------------------------------------------------------


def pages(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    found = list_pages(session=db, limit=500)
    versions = dict(
        db.exec(
            select(col(PageVersion.page_id), func.max(col(PageVersion.version))).group_by(
                col(PageVersion.page_id)
            )
        ).all()
    )
    rows = sorted(found, key=lambda p: p.updated_at, reverse=True)
    return page(view, "pages.html", pages=rows, versions=versions, languages=LANGUAGES)


def new_page(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    language = form.get("language", view.language)
    created = create_page(
        session=db,
        clock=context(request).clock,
        name=form.get("name", "").strip(),
        language=language if language in LANGUAGES else "fr",
        blocks=[],
    )
    return back_to(f"/ui/pages/{created.page.id}")


def duplicate(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    """A new draft page like this one, opened in the builder."""
    original = get_page(session=db, page_id=path_id(request, "page"))
    created = duplicate_page(
        session=db,
        clock=context(request).clock,
        page_id=original.page.id or 0,
        name=view.gettext("{name} (copy)").format(name=original.page.name),
        custom_fields=known_custom_fields(db),
    )
    return back_to(f"/ui/pages/{created.page.id}")


def translate(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    """A copy of the page in another language, opened in the builder for its texts to be
    translated."""
    created = translate_page(
        session=db,
        clock=context(request).clock,
        page_id=path_id(request, "page"),
        language=form.get("language", ""),
        custom_fields=known_custom_fields(db),
    )
    return back_to(f"/ui/pages/{created.page.id}", TRANSLATE_NOTICE)


TRANSLATE_NOTICE = N_(
    "A copy to translate: its texts are still in the original's language. Translate each "
    "block, then publish it and name it in the campaign's translation."
)


# ---- the builder --------------------------------------------------------------------------


def _choices(db: Session) -> dict[str, Any]:
    return {
        "pools": listed_pools(session=db, limit=500),
        "images": list(db.exec(select(PageImage).order_by(col(PageImage.id).desc()).limit(200))),
        "merge_fields": [*STANDARD_FIELDS, *sorted(known_custom_fields(db))],
    }


def _workspace(
    db: Session,
    state: PageState,
    *,
    open_block: str = "",
    failed: dict[str, Any] | None = None,
    focus: str = "",
) -> dict[str, Any]:
    """What the workspace template shows: the blocks with their forms, the versions."""
    failed = failed or {}
    blocks = []
    for block in state.draft.blocks:
        values = failed["values"] if failed.get("id") == block["id"] else values_of(block)
        fields = fields_of(block["type"], prize_rows(values))
        prizes: dict[str, list[Any]] = {}  # each slice's fields, by its index
        for f in fields:
            if f.name.startswith("prizes."):
                prizes.setdefault(f.name.split(".")[1], []).append(f)
        blocks.append(
            {
                "id": block["id"],
                "type": block["type"],
                "summary": summary(block),
                "values": values,
                "fields": [f for f in fields if not f.name.startswith("prizes.")],
                "prizes": list(prizes.values()),
                "errors": failed["errors"] if failed.get("id") == block["id"] else {},
                "open": block["id"] in (open_block, failed.get("id")),
            }
        )
    assert state.page.id is not None
    versions = list(
        db.exec(
            select(PageVersion)
            .where(col(PageVersion.page_id) == state.page.id)
            .order_by(col(PageVersion.version).desc())
            .limit(50)
        )
    )
    theme = {**THEME_DEFAULTS, **state.draft.theme}
    return {
        "colours": {c: _six_digits(str(theme[c])) for c in COLOURS},
        "p": state.page,
        "draft": state.draft,
        "blocks": blocks,
        "versions": versions,
        "block_types": list(BLOCK_TYPES),
        "type_labels": TYPE_LABELS,
        "languages": LANGUAGES,
        "focus": focus,
        **_choices(db),
    }


def _six_digits(colour: str) -> str:
    """#rgb as #rrggbb, which a colour input needs."""
    if len(colour) == 4:
        return "#" + "".join(c * 2 for c in colour[1:])
    return colour


def _picker(request: Request, db: Session) -> dict[str, Any]:
    audience = request.query_params.get("audience", "")[:40]
    chosen = request.query_params.get("contact", "")[:20]
    q = request.query_params.get("q", "")[:100]
    return {
        "q": q,
        "groups": list_groups(session=db),
        "segments": list_segments(session=db),
        "audience": audience,
        "contacts": contacts_of_audience(request, db, audience, q),
        "chosen": int(chosen) if chosen.isdigit() else None,
    }


def builder(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    state = get_page(session=db, page_id=path_id(request, "page"))
    return page(
        view,
        "builder.html",
        notice=request.query_params.get("notice", ""),
        **_workspace(db, state),
        **_picker(request, db),
    )


def answer(
    request: Request,
    db: Session,
    view: Viewer,
    state: PageState,
    *,
    status: int = 200,
    notice: str = "",
    problem: str = "",
    **shown: Any,
) -> Response:
    """The workspace for htmx (and `page-changed` when something was saved), else back
    to the builder (or the builder with the problem, for a plain form)."""
    if request.headers.get("hx-request"):
        response = fragment(
            view, "builder_workspace.html", changed=notice, trouble=problem,
            **_workspace(db, state, **shown),
        )
        response.status_code = status
        if status == 200:
            response.headers["HX-Trigger"] = "page-changed"
        return response
    if status != 200:
        return page(
            view, "builder.html", status=status, problem=problem,
            **_workspace(db, state, **shown), **_picker(request, db),
        )
    return back_to(f"/ui/pages/{state.page.id}", notice)


def in_workspace(
    handler: Callable[[Request, Session, Viewer, dict[str, str]], Response],
) -> Callable[[Request, Session, Viewer, dict[str, str]], Response]:
    """For htmx, a refused change (bad input, a block gone) shows in the workspace as it
    now is, instead of a whole problem page swapped into it."""

    def run(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
        try:
            return handler(request, db, view, form)
        except RichsmsError as exc:
            if not request.headers.get("hx-request"):
                raise
            db.rollback()
            state = get_page(session=db, page_id=path_id(request, "page"))
            status = status_of(exc)
            return answer(request, db, view, state, status=status, problem=exc.told(view.gettext))

    return run


def change_route(
    handler: Callable[[Request, Session, Viewer, dict[str, str]], Response],
) -> Callable[[Request], Awaitable[Response]]:
    return signed_in(in_workspace(handler))


def save(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    page_id = path_id(request, "page")
    theme = dict(get_page(session=db, page_id=page_id).draft.theme)
    for colour in COLOURS:
        if form.get(colour):
            theme[colour] = form[colour].strip()
    saved = update_page(
        session=db,
        clock=context(request).clock,
        page_id=page_id,
        name=form.get("name", "").strip() or None,
        language=form.get("language") or None,
        theme=theme,
    )
    return answer(request, db, view, saved, notice=N_("Page saved."))


def publish(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    page_id, ctx = path_id(request, "page"), context(request)
    clock = ctx.clock
    ctx.pages.check_publishable(session=db, page_id=page_id)  # the render, before any write
    published = publish_page(session=db, clock=clock, page_id=page_id)
    if form.get("move_links") == "on":
        move_links(session=db, clock=clock, page_id=page_id)
    return answer(request, db, view, published, notice=N_("Page published."))
