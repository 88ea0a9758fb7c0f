"""Importing contacts from a CSV file in the browser: the same `import_contacts` as
`POST /api/contacts/import`, sent as a multipart upload (htmx shows its progress), then
the result: imported, updated, rejected, with the first rejected rows' reasons on the page
and every one in the import's report to download (`web.import_reports`)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from richsms.errors import InvalidInput, RichsmsError
from sender.audience.csv_import import import_contacts
from web.context import context
from web.errors import status_of
from web.import_reports import download, report_url
from web.ui.base import refused
from web.ui.render import Viewer, fragment, page, viewer


def import_form(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    region = context(request).settings.default_region
    return page(view, "contacts_import.html", region=region, report=None)


def rejected_rows(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    """Every row an import rejected, as the CSV file its result page links to."""
    return download(context(request).settings.import_reports, request.path_params["report"])


async def upload(request: Request) -> Response:
    """The upload arrives as multipart, which `signed_in` does not read: the same checks
    (signed in, CSRF from the form field or the htmx header) are made here."""
    settings = context(request).settings
    limit: int = settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        return PlainTextResponse(f"The file is larger than {limit} bytes.", status_code=413)
    fields: dict[str, str] = {}
    data = b""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=1, max_fields=10, max_part_size=limit)
        except Exception:  # a malformed or oversized multipart body
            form = None
        if form is not None:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read(limit + 1)
                else:
                    fields[key] = value
            await form.close()
    ctx = context(request)

    def work(db: Session) -> Response:
        view = viewer(request, db)
        if view.user is None:
            return RedirectResponse("/ui/signin", status_code=303)
        if (refusal := refused(view)) is not None:
            return refusal
        if not view.csrf_ok(fields):
            return PlainTextResponse(
                "The form expired or did not come from this site: reload and try again.",
                status_code=403,
            )
        region = (fields.get("region") or settings.default_region).strip().upper()[:2]
        template = (
            "contacts_import_result.html"
            if request.headers.get("hx-request")
            else "contacts_import.html"
        )
        try:
            if not data:
                raise InvalidInput("choose a CSV file to import")
            report = import_contacts(
                session=db,
                data=data,
                clock=ctx.clock,
                region=region,
                reports=settings.import_reports,
            )
        except RichsmsError as exc:
            db.rollback()
            status = status_of(exc)
            if request.headers.get("hx-request"):
                return fragment(
                    view, template, report=None, problem=exc.told(view.gettext), inline_problem=True
                )
            return page(
                view, template, status, region=region, report=None, problem=exc.told(view.gettext)
            )
        result: dict[str, Any] = {
            "report": report,
            "shown": report.rejected,
            "href": report_url("/ui/contacts/imports", report.rejected_report),
            "region": region,
        }
        if request.headers.get("hx-request"):
            return fragment(view, template, **result)
        return page(view, template, **result)

    return await ctx.in_session(work)
