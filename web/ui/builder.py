"""The page builder: the list of pages, and one page's blocks to add, edit (a small form
per type, checked by the block's own schema), delete and reorder (drag or move up/down),
its versions, publishing, and beside it a live preview in a phone frame as any contact
of a chosen audience.

Every change goes through `update_page`, so the draft is always what was last done: the
first change after a publication starts a new draft version, published ones never change.
An htmx request gets the workspace back with a `page-changed` event (builder.js then
reloads the preview); a plain form post is redirected to the builder.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from landing_templates.blocks import BLOCK_TYPES
from landing_templates.coupon_models import CouponPool
from landing_templates.images import store_image
from landing_templates.links import move_links
from landing_templates.models import LANGUAGES, PageImage, PageVersion
from landing_templates.pages import (
    PageState,
    create_page,
    get_page,
    list_pages,
    publish_page,
    update_page,
)
from landing_templates.validation import Theme
from richsms.errors import InvalidInput, NotFound, RichsmsError
from sender.campaigns import known_custom_fields
from sender.contact_search import list_contacts
from sender.groups import list_groups
from sender.segments import list_segments
from web.bodies import path_id, read_body
from web.errors import STATUS_OF
from web.pages import page_headers
from web.ui.base import back_to, signed_in
from web.ui.builder_forms import (
    TYPE_LABELS,
    check_settings,
    default_settings,
    fields_of,
    prize_rows,
    settings_from_form,
    summary,
    values_of,
)
from web.ui.render import Viewer, fragment, page

STANDARD_FIELDS = ("first_name", "last_name", "phone", "email")
PICKER_LIMIT = 100
COLOURS = ("primary", "background", "text")  # the theme's colours, as Theme names them
THEME_DEFAULTS = Theme().model_dump(exclude_none=True)
_BLOCK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NONCE = re.compile(r'<script nonce="([A-Za-z0-9_-]+)"')


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
        clock=request.app.state.clock,
        name=form.get("name", "").strip(),
        language=language if language in LANGUAGES else "fr",
        blocks=[],
    )
    return back_to(f"/ui/pages/{created.page.id}")


# ---- the builder --------------------------------------------------------------------------


def _choices(db: Session) -> dict[str, Any]:
    return {
        "pools": list(db.exec(select(CouponPool).order_by(col(CouponPool.id)).limit(500))),
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
        prizes = [f for f in fields if f.name.startswith("prizes.")]  # label, weight, coupon
        blocks.append(
            {
                "id": block["id"],
                "type": block["type"],
                "summary": summary(block),
                "values": values,
                "fields": [f for f in fields if not f.name.startswith("prizes.")],
                "prizes": [prizes[i : i + 3] for i in range(0, len(prizes), 3)],
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
        "contacts": _audience_contacts(request, db, audience, q),
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


def _answer(
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
            status = next((s for c, s in STATUS_OF.items() if isinstance(exc, c)), 400)
            return _answer(request, db, view, state, status=status, problem=exc.message)

    return run


def change_route(
    handler: Callable[[Request, Session, Viewer, dict[str, str]], Response],
) -> Callable[[Request], Awaitable[Response]]:
    return signed_in(in_workspace(handler))


def _save_blocks(
    request: Request, db: Session, page_id: int, blocks: list[dict[str, Any]]
) -> PageState:
    return update_page(
        session=db,
        clock=request.app.state.clock,
        page_id=page_id,
        blocks=blocks,
        custom_fields=known_custom_fields(db),
    )


def _block_id(request: Request, blocks: list[dict[str, Any]]) -> int:
    """The position of the path's `{block}` in the draft (404 when there is none)."""
    wanted = str(request.path_params["block"])
    if _BLOCK_ID.match(wanted):
        for index, block in enumerate(blocks):
            if block["id"] == wanted:
                return index
    raise NotFound(f"this page has no block {wanted[:64]!r}")


def add_block(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    page_id = path_id(request, "page")
    state = get_page(session=db, page_id=page_id)
    kind = form.get("type", "")
    if kind not in BLOCK_TYPES:
        raise InvalidInput(f"not a block type: {kind[:40]!r}")
    new = default_settings(kind, state.page.language, request.app.state.clock.now())
    if kind == "image":
        image = db.exec(select(PageImage.id).order_by(col(PageImage.id).desc())).first()
        if image is None:
            raise InvalidInput("no image uploaded yet: upload one first")
        new |= {"image_id": image, "alt": ""}
    saved = _save_blocks(request, db, page_id, [*state.draft.blocks, new])
    added = saved.draft.blocks[-1]["id"]
    return _answer(request, db, view, saved, open_block=added, focus=f"edit-{added}",
                   notice="Block added.")


def edit_block(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    page_id = path_id(request, "page")
    state = get_page(session=db, page_id=page_id)
    blocks = list(state.draft.blocks)
    index = _block_id(request, blocks)
    block_id = blocks[index]["id"]
    settings, errors = check_settings(settings_from_form(blocks[index]["type"], block_id, form))
    if settings is None:
        failed = {"id": block_id, "values": form, "errors": errors}
        return _answer(request, db, view, state, status=422, failed=failed,
                       problem=view.t("Check the highlighted fields."))
    blocks[index] = settings
    try:
        with db.begin_nested():  # a merge field error leaves the draft as it was
            saved = _save_blocks(request, db, page_id, blocks)
    except InvalidInput as exc:
        failed = {"id": block_id, "values": form, "errors": {"": exc.message}}
        return _answer(request, db, view, state, status=422, failed=failed, problem=exc.message)
    return _answer(request, db, view, saved, open_block=block_id, notice="Block saved.")


def delete_block(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    page_id = path_id(request, "page")
    blocks = list(get_page(session=db, page_id=page_id).draft.blocks)
    del blocks[_block_id(request, blocks)]
    saved = _save_blocks(request, db, page_id, blocks)
    return _answer(request, db, view, saved, focus="blocks", notice="Block deleted.")


def move_block(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    """Keyboard reordering: one place up or down; the same button keeps the focus."""
    page_id = path_id(request, "page")
    blocks = list(get_page(session=db, page_id=page_id).draft.blocks)
    index = _block_id(request, blocks)
    direction = form.get("direction", "")
    if direction not in ("up", "down"):
        raise InvalidInput("direction is up or down")
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(blocks):
        blocks[index], blocks[other] = blocks[other], blocks[index]
    saved = _save_blocks(request, db, page_id, blocks)
    moved = blocks[other if 0 <= other < len(blocks) else index]["id"]
    return _answer(request, db, view, saved, focus=f"{direction}-{moved}", notice="Block moved.")


def reorder(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    """Drag and drop: the blocks in the order given (every block once)."""
    page_id = path_id(request, "page")
    blocks = list(get_page(session=db, page_id=page_id).draft.blocks)
    order = [i for i in form.get("order", "").split(",") if i]
    by_id = {b["id"]: b for b in blocks}
    if sorted(order) != sorted(by_id):
        raise InvalidInput("the new order must list each block of the draft once: reload")
    saved = _save_blocks(request, db, page_id, [by_id[i] for i in order])
    return _answer(request, db, view, saved, notice="Block moved.")


def save(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    page_id = path_id(request, "page")
    theme = dict(get_page(session=db, page_id=page_id).draft.theme)
    for colour in COLOURS:
        if form.get(colour):
            theme[colour] = form[colour].strip()
    saved = update_page(
        session=db,
        clock=request.app.state.clock,
        page_id=page_id,
        name=form.get("name", "").strip() or None,
        language=form.get("language") or None,
        theme=theme,
    )
    return _answer(request, db, view, saved, notice="Page saved.")


def publish(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    page_id, clock = path_id(request, "page"), request.app.state.clock
    published = publish_page(session=db, clock=clock, page_id=page_id)
    if form.get("move_links") == "on":
        move_links(session=db, clock=clock, page_id=page_id)
    return _answer(request, db, view, published, notice="Page published.")


async def upload_image(request: Request) -> Response:
    """An image sent as the request's body (builder.js sends the chosen file with the
    X-CSRF-Token header), stored in its widths and added to the page as an image block."""
    request.state.upload = await read_body(request)
    return await _store_upload(request)


def _add_uploaded(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    page_id = path_id(request, "page")
    state = get_page(session=db, page_id=page_id)
    try:
        with db.begin_nested():
            image = store_image(session=db, clock=request.app.state.clock,
                                data=request.state.upload)
            saved = _save_blocks(
                request, db, page_id,
                [*state.draft.blocks, {"type": "image", "image_id": image.id, "alt": ""}],
            )
    except InvalidInput as exc:
        return _answer(request, db, view, state, status=422, problem=exc.message)
    return _answer(request, db, view, saved, open_block=saved.draft.blocks[-1]["id"],
                   notice="Block added.")


_store_upload = signed_in(_add_uploaded)


# ---- the preview --------------------------------------------------------------------------


def _audience_contacts(request: Request, db: Session, audience: str, q: str = "") -> list[Any]:
    kind, _, number = audience.partition("-")
    groups = [int(number)] if kind == "group" and number.isdigit() else []
    segments = [int(number)] if kind == "segment" and number.isdigit() else []
    try:
        found = list_contacts(
            session=db,
            region=request.app.state.settings.default_region,
            q=q,
            group_ids=groups,
            segment_ids=segments,
            limit=PICKER_LIMIT,
        )
    except RichsmsError:
        return []
    return found.contacts


def audience_contacts(
    request: Request, db: Session, view: Viewer, _form: dict[str, str]
) -> Response:
    """The contact picker's options for the chosen audience (group, segment or all)."""
    audience = request.query_params.get("audience", "")[:40]
    q = request.query_params.get("q", "")[:100]
    return fragment(
        view, "builder_contacts.html", contacts=_audience_contacts(request, db, audience, q),
        chosen=None,
    )


def preview(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    """The draft as the chosen contact sees it, framed by the builder. Rolled back, so
    nothing is recorded or assigned; its scripts run by nonce only."""
    page_id = path_id(request, "page")
    raw = request.query_params.get("contact_id", "")
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
        raise InvalidInput("contact_id is a contact's id")
    try:
        html: str = request.app.state.pages.preview(
            session=db, page_id=page_id, contact_id=int(raw) if raw else None
        )
    finally:
        db.rollback()
    nonce = _NONCE.search(html)
    headers = page_headers(nonce.group(1) if nonce else None)
    headers["content-security-policy"] = headers["content-security-policy"].replace(
        "frame-ancestors 'none'", "frame-ancestors 'self'"
    )
    return HTMLResponse(html, headers=headers)
