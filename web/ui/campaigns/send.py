"""Sending and cancelling a campaign, each confirmed first: "Send" opens the summary of
what will happen (`sender.campaigns.send_summary`, the one the API serves) with a form to
confirm it; "Cancel campaign" asks the same. Plain forms: no script needed."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from richsms.accounts.profile import brand_name
from richsms.clock import Clock
from richsms.errors import fill
from richsms.i18n import N_, locale_of
from sender.campaigns import states
from sender.campaigns.campaign import cancel_campaign, get_campaign, request_send
from sender.campaigns.models import Campaign
from sender.campaigns.send_summary import Departure, send_summary, waiting_messages
from sender.campaigns.variants import NO_SENDER, campaign_texts
from sender.compose.identification import identification_warning
from web.bodies import path_id
from web.context import context
from web.ui.base import back_to
from web.ui.render import Viewer, page

CONFIRMED = "confirmed"
Handler = Callable[[Request, Session, Viewer, dict[str, str]], Response]
# What the summary calls each exclusion of `sender.audience.consent.EXCLUSIONS`.
REASONS = {
    "opted_out": N_("Opted out"),
    "no_consent": N_("No consent to promotional messages"),
    "frequency_cap": N_("Frequency cap: enough promotional messages lately"),
    # As planning and the stats name it (`sender.delivery.frequency_caps.REASON`).
    "frequency cap": N_("Frequency cap: enough promotional messages lately"),
}
# A recipient no number of the campaign reaches (`sender.campaigns.variants.NO_SENDER`).
_NO_SENDER_PREFIX = NO_SENDER.split("{country}")[0]
NO_SENDER_LABEL = N_("No sender number for {country}")
UNKNOWN_COUNTRY = N_("an unknown country")


def reason_label(code: str, translate: Callable[[str], str]) -> str:
    """An exclusion's reason as the viewer reads it: a consent code, or "no sender
    number for BE" (planning's and the send summary's words), translated."""
    if code in REASONS:
        return translate(REASONS[code])
    if code.startswith(_NO_SENDER_PREFIX):
        country = code[len(_NO_SENDER_PREFIX) :]
        return fill(translate(NO_SENDER_LABEL), {"country": country}, translate)
    return translate(code)


def local_time(departure: Departure | None, language: str) -> str:
    """A departure as the recipients' clock reads it: "24/11/2026 08:00 (America/New_York)"."""
    if departure is None:
        return ""
    shown = format_datetime(
        departure.at, "short", tzinfo=ZoneInfo(departure.zone), locale=locale_of(language)
    )
    return f"{shown} ({departure.zone})"


def identification(db: Session, campaign: Campaign, view: Viewer) -> dict[str, str]:
    """Each of the campaign's texts (by language) that does not name the brand, with the
    warning the SMS analysis gives it."""
    brand = brand_name(db)
    warned = {}
    for language, text in campaign_texts(campaign).items():
        warning = identification_warning(text.template, type=campaign.type, brand=brand)
        if warning is not None:
            warned[language] = warning.told(view.gettext)
    return warned


def summary(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    campaign_id = path_id(request, "campaign")
    ctx = context(request)
    found = send_summary(
        session=db, settings=ctx.settings, campaign_id=campaign_id, now=ctx.clock.now()
    )
    campaign = get_campaign(session=db, campaign_id=campaign_id)
    return page(
        view,
        "campaign_send.html",
        campaign=campaign,
        summary=found,
        identification=identification(db, campaign, view),
        sendable=campaign.status in states.SENDABLE,
        reasons={code: reason_label(code, view.gettext) for code in found.excluded},
        local=lambda d: local_time(d, view.language),
    )


def cancel_form(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    campaign_id = path_id(request, "campaign")
    campaign = get_campaign(session=db, campaign_id=campaign_id)
    waiting = waiting_messages(
        session=db, campaign_id=campaign_id, now=context(request).clock.now()
    )
    return page(
        view,
        "campaign_cancel.html",
        campaign=campaign,
        cancellable=campaign.status not in states.FINISHED,
        waiting=waiting,
    )


def _confirmed(action: Callable[[Session, Clock, int], object], done: str) -> Handler:
    """The POST of a confirmation page: without its `confirmed` field, the page again."""

    def post(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
        campaign_id = path_id(request, "campaign")
        if form.get(CONFIRMED) != "yes":
            return RedirectResponse(request.url.path, status_code=303)
        action(db, context(request).clock, campaign_id)
        return back_to(f"/ui/campaigns/{campaign_id}", done)

    return post


send = _confirmed(
    lambda db, clock, cid: request_send(session=db, clock=clock, campaign_id=cid),
    N_("Sending requested."),
)
cancel = _confirmed(
    lambda db, clock, cid: cancel_campaign(session=db, clock=clock, campaign_id=cid),
    N_("Cancelled."),
)
