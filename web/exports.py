"""A campaign's CSV exports as downloads: the API's and the UI's are the same file."""

from __future__ import annotations

from starlette.responses import StreamingResponse

from sender.results.exports import PLAIN, campaign_clicks_csv, campaign_messages_csv, excel_france
from web.context import AppContext

EXPORTS = {"messages": campaign_messages_csv, "clicks": campaign_clicks_csv}


def campaign_export(
    ctx: AppContext, campaign_id: int, kind: str, excel: bool = False
) -> StreamingResponse:
    """The campaign's `kind` (messages or clicks) as plain CSV, or as Excel (France) opens
    it, streamed."""
    fmt = excel_france(ctx.settings.time_zone) if excel else PLAIN
    lines = EXPORTS[kind](engine=ctx.engine, campaign_id=campaign_id, fmt=fmt)
    name = f"campaign-{campaign_id}-{kind}{'-excel-fr' if excel else ''}.csv"
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
