"""The composer: a campaign's name, type, sender, text and audience, with the SMS
analysis beside the text updating as one types (the same analysis as
`POST /api/sms/analyze`), a preview of the message as a recipient gets it (opt-out
mention and link in place), and GSM-7 suggestions shown as a diff to accept or not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.requests import Request
from starlette.responses import Response

from landing_templates.pages import list_pages
from richsms.accounts.profile import brand_name
from richsms.errors import InvalidInput, RichsmsError
from richsms.i18n import N_
from sender.audience.custom_fields import known_fields
from sender.audience.groups import list_groups
from sender.audience.segments import list_segments
from sender.audience.selection import iter_audience
from sender.campaigns.campaign import (
    CampaignSpec,
    check_editable,
    create_campaign,
    duplicate_campaign,
    edit_campaign,
    get_campaign,
)
from sender.campaigns.models import Campaign
from sender.compose.composition import Composer
from sender.compose.library import get_message_template, list_message_templates
from sender.delivery.models import SenderNumber
from web.api.sms import AnalyzeIn, AudienceIn, _analysis
from web.bodies import path_id
from web.context import context
from web.ui.base import back_to
from web.ui.campaign_preview import sample_link
from web.ui.render import Viewer, fragment, page

TYPES = (N_("promotional"), N_("informational"), N_("administrative"))
STANDARD = ("first_name", "last_name", "phone", "email")


def _ids(form: dict[str, str], prefix: str) -> list[int]:
    found = []
    for key, value in form.items():
        if key.startswith(prefix) and value == "on":
            number = key[len(prefix) :]
            if number.isascii() and number.isdigit() and len(number) < 10 and int(number):
                found.append(int(number))  # 0 names no group or segment
    return sorted(found)


def _choices(db: Session) -> dict[str, Any]:
    return {
        "groups": list_groups(session=db),
        "segments": list_segments(session=db),
        "senders": list(db.execute(select(SenderNumber).order_by(col(SenderNumber.id))).scalars()),
        "fields": [*STANDARD, *sorted(known_fields(db))],
        "types": TYPES,
        "library": list_message_templates(session=db),
        "pages": [p for p in list_pages(session=db) if p.published_version is not None],
        "brand": brand_name(db),
    }


def new_campaign(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    form: dict[str, str] = {}
    chosen = request.query_params.get("from", "")
    if chosen.isascii() and chosen.isdigit() and len(chosen) < 10:  # started from the library
        saved = get_message_template(session=db, template_id=int(chosen))
        form = {"name": saved.name, "type": saved.type, "template": saved.text}
        form |= {"from": chosen, "one_per_phone": "on"}
    return page(view, "compose.html", form=form, **_choices(db))


def _moment(form: dict[str, str]) -> datetime | None:
    raw = form.get("send_at", "").strip()
    if not raw:
        return None
    try:
        zone = ZoneInfo(form.get("zone", "UTC").strip() or "UTC")
        return datetime.fromisoformat(raw).replace(tzinfo=zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise InvalidInput("give the date, time and a valid time zone (Europe/Paris)") from None


def _spec(form: dict[str, str]) -> CampaignSpec:
    """The campaign the composer's form describes."""
    try:
        rate = float(form.get("rate", "10") or "10")
    except ValueError:
        rate = -1.0
    local_at = form.get("local_at", "").strip()
    return CampaignSpec(
        name=form.get("name", ""),
        type=form.get("type", "promotional"),
        template=form.get("template", ""),
        target_url=form.get("target_url", "").strip() or None,
        page_id=int(form["page_id"]) if form.get("page_id", "").isdigit() else None,
        group_ids=_ids(form, "group-"),
        segment_ids=_ids(form, "segment-"),
        one_per_phone=form.get("one_per_phone") == "on",
        schedule=form.get("schedule", "now"),
        send_at=_moment(form) if form.get("schedule") == "at" else None,
        local_date=local_at[:10] if form.get("schedule") == "local" and local_at else None,
        local_time=local_at[11:16] if form.get("schedule") == "local" and local_at else None,
        window_start=form.get("window_start", "08:00") or "08:00",
        window_end=form.get("window_end", "21:00") or "21:00",
        rate=rate,
        sender_id=int(form["sender_id"]) if form.get("sender_id", "").isdigit() else None,
        requires_approval=form.get("requires_approval") == "on",
    )


def _form_of(campaign: Campaign) -> dict[str, str]:
    """The composer's form filled with what the campaign is (the inverse of `_spec`)."""
    form = {
        "name": campaign.name,
        "type": campaign.type,
        "template": campaign.template,
        "target_url": campaign.target_url or "",
        "page_id": str(campaign.page_id or ""),
        "schedule": campaign.schedule,
        "zone": "UTC",
        "send_at": campaign.send_at.strftime("%Y-%m-%dT%H:%M") if campaign.send_at else "",
        "local_at": f"{campaign.local_date}T{campaign.local_time}"
        if campaign.local_date and campaign.local_time
        else "",
        "window_start": campaign.window_start,
        "window_end": campaign.window_end,
        "rate": f"{campaign.rate:g}",
        "sender_id": str(campaign.sender_id or ""),
    }
    flags = {
        "one_per_phone": campaign.one_per_phone,
        "requires_approval": campaign.requires_approval,
        **{f"group-{i}": True for i in campaign.group_ids},
        **{f"segment-{i}": True for i in campaign.segment_ids},
    }
    form.update({name: "on" for name, on in flags.items() if on})
    return form


def _saved(
    request: Request,
    db: Session,
    view: Viewer,
    form: dict[str, str],
    save: Callable[[CampaignSpec], Campaign],
    done: str,
    **shown: Any,
) -> Response:
    """Save the form's campaign with `save`, or show the form again with the problem."""
    try:
        with db.begin_nested():
            campaign = save(_spec(form))
    except RichsmsError as exc:
        problem = exc.told(view.gettext)
        return page(
            view, "compose.html", 422, form=form, problem=problem, **shown, **_choices(db)
        )
    return back_to(f"/ui/campaigns/{campaign.id}", done)


def create(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    clock = context(request).clock
    return _saved(
        request,
        db,
        view,
        form,
        lambda spec: create_campaign(session=db, clock=clock, spec=spec, created_by=view.actor),
        N_("Campaign created."),
    )


def edit_form(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    """A draft in the composer; a campaign past its draft says it can only be duplicated."""
    campaign = get_campaign(session=db, campaign_id=path_id(request, "campaign"))
    check_editable(campaign)
    notice = request.query_params.get("notice", "")
    return page(
        view,
        "compose.html",
        form=_form_of(campaign),
        editing=campaign,
        notice=notice,
        **_choices(db),
    )


def edit(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    campaign_id = path_id(request, "campaign")
    ctx = context(request)
    editing = check_editable(get_campaign(session=db, campaign_id=campaign_id))
    return _saved(
        request,
        db,
        view,
        form,
        lambda spec: edit_campaign(
            session=db,
            clock=ctx.clock,
            campaign_id=campaign_id,
            changes=spec.model_dump(exclude={"custom_fields"}),
            settings=ctx.settings,
        ),
        N_("Campaign saved."),
        editing=editing,
    )


def duplicate(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    """A new draft like the campaign, opened in the composer."""
    original = get_campaign(session=db, campaign_id=path_id(request, "campaign"))
    ctx = context(request)
    copy = duplicate_campaign(
        session=db,
        clock=ctx.clock,
        campaign_id=original.id or 0,
        created_by=view.actor,
        name=view.gettext("{name} (copy)").format(name=original.name),
        settings=ctx.settings,
    )
    return back_to(f"/ui/campaigns/{copy.id}/edit", N_("Campaign duplicated: a new draft."))


def _diff(text: str, replacements: list[dict[str, Any]]) -> Markup:
    """The text with each suggested change shown as <del>old</del><ins>new</ins>."""
    parts: list[str] = []
    last = 0
    for r in replacements:
        parts.append(str(escape(text[last : r["start"]])))
        parts.append(f"<del>{escape(r['original'])}</del><ins>{escape(r['replacement'])}</ins>")
        last = r["end"]
    parts.append(str(escape(text[last:])))
    return Markup("".join(parts))


def _preview(request: Request, db: Session, form: dict[str, str], audience: AudienceIn) -> str:
    settings = context(request).settings
    sender_id = int(form["sender_id"]) if form.get("sender_id", "").isdigit() else None
    composer = Composer.saved(
        session=db,
        template=form.get("template", ""),
        type=form.get("type", "promotional"),
        settings=settings,
        sender_id=sender_id,
    )
    sample: dict[str, object] = {"first_name": "Marie", "language": "fr"}
    if audience.groups or audience.segments:
        for _row, fields in iter_audience(
            session=db, group_ids=audience.groups, segment_ids=audience.segments
        ):
            sample = dict(fields)
            break
    link = sample_link(settings)
    return composer.compose(sample, language=sample.get("language", "en"), link=link).text


def analyze(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    text = form.get("template", "")
    audience = AudienceIn(groups=_ids(form, "group-"), segments=_ids(form, "segment-"))
    chosen = audience if audience.groups or audience.segments else None
    try:
        body = AnalyzeIn(
            text=text[:5000],
            type=form.get("type", "promotional"),
            language="fr" if view.language == "fr" else "en",
            sender_id=int(form["sender_id"]) if form.get("sender_id", "").isdigit() else None,
            audience=chosen,
        )
        result = _analysis(body, context(request).settings, context(request).engine)
        preview = _preview(request, db, form, audience)
    except (RichsmsError, ValueError) as exc:
        problem = exc.told(view.gettext) if isinstance(exc, RichsmsError) else str(exc)
        return fragment(view, "_analysis.html", problem=problem, result=None)
    suggestions = result["suggestions"]
    diff = _diff(text, suggestions["replacements"]) if suggestions["replacements"] else None
    warnings = [warning.told(view.gettext) for warning in result["warnings"]]
    return fragment(
        view, "_analysis.html", result=result, preview=preview, diff=diff, warnings=warnings
    )
