"""The page builder's block editing: add a block (a default one per type, or an image
uploaded from the device), edit it (a small form per type, checked by the block's own
schema), delete it, and reorder the blocks (drag, or move up/down from the keyboard).

Each change saves the whole draft through `update_page` and answers with the workspace
(`web.ui.builder.workspace.answer`).
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response

from landing_templates.blocks import BLOCK_TYPES
from landing_templates.images import prepare_image, store_image
from landing_templates.models import PageImage
from landing_templates.pages import PageState, get_page, update_page
from richsms import processes
from richsms.errors import InvalidInput, NotFound
from richsms.i18n import N_
from sender.campaigns.campaign import known_custom_fields
from web.bodies import path_id, read_body
from web.context import context
from web.ui.base import signed_in
from web.ui.builder.forms import check_settings, default_settings, settings_from_form
from web.ui.builder.workspace import answer
from web.ui.render import Viewer

_BLOCK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _save_blocks(
    request: Request, db: Session, page_id: int, blocks: list[dict[str, Any]]
) -> PageState:
    return update_page(
        session=db,
        clock=context(request).clock,
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
    new = default_settings(kind, state.page.language, context(request).clock.now())
    if kind == "image":
        image = db.exec(select(PageImage.id).order_by(col(PageImage.id).desc())).first()
        if image is None:
            raise InvalidInput("no image uploaded yet: upload one first")
        new |= {"image_id": image, "alt": ""}
    saved = _save_blocks(request, db, page_id, [*state.draft.blocks, new])
    added = saved.draft.blocks[-1]["id"]
    return answer(request, db, view, saved, open_block=added, focus=f"edit-{added}",
                   notice=N_("Block added."))


def edit_block(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    page_id = path_id(request, "page")
    state = get_page(session=db, page_id=page_id)
    blocks = list(state.draft.blocks)
    index = _block_id(request, blocks)
    block_id = blocks[index]["id"]
    raw = settings_from_form(blocks[index]["type"], block_id, form)
    settings, errors = check_settings(raw, view.gettext)
    if settings is None:
        failed = {"id": block_id, "values": form, "errors": errors}
        return answer(request, db, view, state, status=422, failed=failed,
                       problem=view.gettext("Check the highlighted fields."))
    blocks[index] = settings
    try:
        with db.begin_nested():  # a merge field error leaves the draft as it was
            saved = _save_blocks(request, db, page_id, blocks)
    except InvalidInput as exc:
        failed = {"id": block_id, "values": form, "errors": {"": exc.told(view.gettext)}}
        problem = exc.told(view.gettext)
        return answer(request, db, view, state, status=422, failed=failed, problem=problem)
    return answer(request, db, view, saved, open_block=block_id, notice=N_("Block saved."))


def delete_block(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    page_id = path_id(request, "page")
    blocks = list(get_page(session=db, page_id=page_id).draft.blocks)
    del blocks[_block_id(request, blocks)]
    saved = _save_blocks(request, db, page_id, blocks)
    return answer(request, db, view, saved, focus="blocks", notice=N_("Block deleted."))


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
    return answer(request, db, view, saved, focus=f"{direction}-{moved}", notice=N_("Block moved."))


def reorder(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    """Drag and drop: the blocks in the order given (every block once)."""
    page_id = path_id(request, "page")
    blocks = list(get_page(session=db, page_id=page_id).draft.blocks)
    order = [i for i in form.get("order", "").split(",") if i]
    by_id = {b["id"]: b for b in blocks}
    if sorted(order) != sorted(by_id):
        raise InvalidInput("the new order must list each block of the draft once: reload")
    saved = _save_blocks(request, db, page_id, [by_id[i] for i in order])
    return answer(request, db, view, saved, notice=N_("Block moved."))


async def upload_image(request: Request) -> Response:
    """An image sent as the request's body (builder.js sends the chosen file with the
    X-CSRF-Token header), stored in its widths and added to the page as an image block."""
    request.state.upload = await read_body(request)
    return await _store_upload(request)


def _add_uploaded(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    page_id = path_id(request, "page")
    state = get_page(session=db, page_id=page_id)
    try:
        # resized in a worker process, before anything is written
        prepared = processes.run(processes.IMAGES, prepare_image, request.state.upload)
        with db.begin_nested():
            image = store_image(session=db, clock=context(request).clock, image=prepared)
            saved = _save_blocks(
                request, db, page_id,
                [*state.draft.blocks, {"type": "image", "image_id": image.id, "alt": ""}],
            )
    except InvalidInput as exc:
        return answer(request, db, view, state, status=422, problem=exc.told(view.gettext))
    return answer(request, db, view, saved, open_block=saved.draft.blocks[-1]["id"],
                   notice=N_("Block added."))


_store_upload = signed_in(_add_uploaded)
