"""The composer: a campaign's name, type, sender numbers, texts and audience. The main
text (in the campaign's language) and each translation sit side by side, a language
added or removed in one click, each with its own SMS analysis updating as one types (the
same analysis as `POST /api/sms/analyze`, over the recipients addressed in that
language), a preview of the message as such a recipient gets it (opt-out mention and
link in place), and GSM-7 suggestions shown as a diff to accept or not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.requests import Request
from starlette.responses import Response

import web.ui.campaigns.composer_ab_test as ab
from landing_templates.pages import list_pages
from richsms.accounts.profile import brand_name
from richsms.errors import InvalidInput, RichsmsError
from richsms.i18n import N_
from sender.audience.custom_fields import known_fields
from sender.audience.groups import list_groups
from sender.audience.recipient_locale import LANGUAGES
from sender.audience.segments import list_segments
from sender.audience.selection import iter_audience
from sender.campaigns.ab.spec import variant_name
from sender.campaigns.campaign import (
    CampaignSpec,
    check_editable,
    create_campaign,
    duplicate_campaign,
    edit_campaign,
    get_campaign,
)
from sender.campaigns.models import Campaign, CampaignShape
from sender.campaigns.variants import CampaignVariants, Variant
from sender.compose.library import get_message_template, list_message_templates
from sender.delivery.models import SenderNumber
from web.api.sms import AnalyzeIn, AudienceIn, analysis
from web.bodies import path_id
from web.context import context
from web.ui.base import back_to
from web.ui.campaigns.preview import sample_link
from web.ui.render import Viewer, fragment, page
from web.ui.senders import KINDS

TYPES = (N_("promotional"), N_("informational"), N_("administrative"))
ADD_TRANSLATION = {"fr": N_("Add a French translation"), "en": N_("Add an English translation")}
REMOVE_TRANSLATION = {
    "fr": N_("Remove the French translation"),
    "en": N_("Remove the English translation"),
}
STANDARD = ("first_name", "last_name", "phone", "email")
# A campaign's fields the composer does not show (set through the API, or by an
# approver): saving the composer leaves them as they are.
NOT_COMPOSED = frozenset({"choices", "unmatched", "refresh_audience", "frequency_cap"})


def _ids(form: dict[str, str], prefix: str) -> list[int]:
    found = []
    for key, value in form.items():
        if key.startswith(prefix) and value == "on":
            number = key[len(prefix) :]
            if number.isascii() and number.isdigit() and len(number) < 10 and int(number):
                found.append(int(number))  # 0 names no group or segment
    return sorted(found)


def _id(form: dict[str, str], name: str) -> int | None:
    value = form.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _main_language(form: dict[str, str]) -> str:
    language = form.get("language", "")
    return language if language in LANGUAGES else "fr"


def _translated(form: dict[str, str]) -> list[str]:
    """The languages the form has a translation column for (not the main one)."""
    main = _main_language(form)
    return [lang for lang in LANGUAGES if lang != main and f"translation-{lang}" in form]


def _sender_ids(form: dict[str, str]) -> list[int]:
    """The numbers ticked (or the one `sender_id` a plain form may still post)."""
    ticked = _ids(form, "sender-")
    single = _id(form, "sender_id")
    return ticked or ([single] if single else [])


def _translations(form: dict[str, str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for lang in _translated(form):
        text = form.get(f"translation-{lang}", "")
        if not text.strip():
            raise InvalidInput(
                "translations.{language}.template: write the text, or remove the translation",
                params={"language": lang},
            )
        found[lang] = {"template": text, "page_id": _id(form, f"translation-{lang}-page_id")}
    return found


def _form_change(form: dict[str, str]) -> dict[str, str] | None:
    """The form with a translation column added or removed, or the A/B test section
    opened, closed or given a variant more or less, when one of those buttons was pressed
    (nothing is saved), else None."""
    added, removed = form.get("add_language", ""), form.get("remove_language", "")
    if added in LANGUAGES and added != _main_language(form):
        return {f"translation-{added}": ""} | form
    if removed in LANGUAGES:
        gone = (f"translation-{removed}", f"translation-{removed}-page_id")
        kept = {name: value for name, value in form.items() if name not in gone}
        return ab.without_language(kept, removed)
    return ab.changed(form)


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
        "languages": LANGUAGES,
        "add_translation": ADD_TRANSLATION,
        "remove_translation": REMOVE_TRANSLATION,
        "sender_kinds": KINDS,
        "ab_units": ab.UNIT_LABELS,
        "ab_metrics": ab.METRIC_LABELS,
        "ab_limits": (ab.MIN_VARIANTS, ab.MAX_VARIANTS),
        "ab_max_days": ab.MAX_DAYS,
    }


def new_campaign(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    form: dict[str, str] = {}
    chosen = request.query_params.get("from", "")
    if chosen.isascii() and chosen.isdigit() and len(chosen) < 10:  # started from the library
        saved = get_message_template(session=db, template_id=int(chosen))
        form = {"name": saved.name, "type": saved.type, "template": saved.text}
        form |= {"from": chosen, "one_per_phone": "on"}
    return page(view, "compose.html", form=form, **_choices(db))


def _moment(form: dict[str, str], field: str = "send_at", where: str = "") -> datetime | None:
    """The date and time in `field`, in the form's time zone; a refusal names `where`."""
    raw = form.get(field, "").strip()
    if not raw:
        return None
    try:
        zone = ZoneInfo(form.get("zone", "UTC").strip() or "UTC")
        return datetime.fromisoformat(raw).replace(tzinfo=zone)
    except (ValueError, ZoneInfoNotFoundError):
        if where:
            raise ab.refused_send_time(where) from None
        raise InvalidInput("give the date, time and a valid time zone (Europe/Paris)") from None


def _spec(form: dict[str, str]) -> CampaignSpec:
    """The campaign the composer's form describes."""
    try:
        rate = float(form.get("rate", "10") or "10")
    except ValueError:
        rate = -1.0
    local_at = form.get("local_at", "").strip()
    senders = _sender_ids(form)
    return CampaignSpec(
        name=form.get("name", ""),
        type=form.get("type", "promotional"),
        template=form.get("template", ""),
        language=_main_language(form),
        translations=_translations(form),
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
        sender_id=senders[0] if senders else None,
        sender_ids=senders,
        default_sender_id=_id(form, "default_sender_id"),
        requires_approval=form.get("requires_approval") == "on",
        ab_test=ab.ab_test_of(form, _translated(form), lambda f, w: _moment(form, f, w)),
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
        "language": campaign.language,
        "default_sender_id": str(campaign.default_sender_id or ""),
    }
    for lang, translation in (campaign.translations or {}).items():
        form[f"translation-{lang}"] = str(translation.get("template", ""))
        form[f"translation-{lang}-page_id"] = str(translation.get("page_id") or "")
    senders = campaign.sender_ids or ([campaign.sender_id] if campaign.sender_id else [])
    flags = {
        **{f"sender-{i}": True for i in senders},
        "one_per_phone": campaign.one_per_phone,
        "requires_approval": campaign.requires_approval,
        **{f"group-{i}": True for i in campaign.group_ids},
        **{f"segment-{i}": True for i in campaign.segment_ids},
    }
    form.update({name: "on" for name, on in flags.items() if on})
    return form | ab.form_fields(campaign.ab_test)


def _saved(
    request: Request,
    db: Session,
    view: Viewer,
    form: dict[str, str],
    save: Callable[[CampaignSpec], Campaign],
    done: str,
    **shown: Any,
) -> Response:
    """Save the form's campaign with `save`, or show the form again with the problem;
    a language added or removed shows the form again with it, saving nothing."""
    changed = _form_change(form)
    if changed is not None:
        return page(view, "compose.html", form=changed, **shown, **_choices(db))
    try:
        with db.begin_nested():
            campaign = save(_spec(form))
    except RichsmsError as exc:
        field = ab.placed(exc, view.gettext)
        problem = (
            view.gettext("Not saved: see the A/B test's field marked below.")
            if field
            else exc.told(view.gettext)
        )
        return page(
            view,
            "compose.html",
            422,
            form=form,
            problem=problem,
            field_problem=field,
            **shown,
            **_choices(db),
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
            changes=spec.model_dump(exclude={"custom_fields", *NOT_COMPOSED}),
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


SAMPLE_NAMES = {"fr": "Marie", "en": "Emma"}  # who a preview without an audience shows
PREVIEW_SCAN = 2_000  # audience rows looked through for a recipient of a language


@dataclass(frozen=True, slots=True)
class TextPanel:
    """One text of the composer (the main one or a translation) and its analysis."""

    language: str
    field: str  # the textarea's name and id: "template", "translation-en", "ab-1-template"
    target: str  # the panel's id: "analysis", "analysis-en", "analysis-ab-1-en"
    result: dict[str, Any] | None = None
    preview: str = ""
    diff: Markup | None = None
    warnings: tuple[str, ...] = ()
    problem: str = ""
    variant: str = ""  # an A/B test variant's name (B), for a variant's text


def _shape(form: dict[str, str]) -> CampaignShape:
    """The texts and numbers the form describes, as the campaign would have them (an
    unfinished translation included, to be analysed)."""
    senders = _sender_ids(form)
    return CampaignShape(
        name=form.get("name", ""),
        type=form.get("type", "promotional"),
        template=form.get("template", ""),
        language=_main_language(form),
        translations={
            lang: {
                "template": form.get(f"translation-{lang}", ""),
                "page_id": _id(form, f"translation-{lang}-page_id"),
            }
            for lang in _translated(form)
        },
        page_id=_id(form, "page_id"),
        sender_id=senders[0] if senders else None,
        sender_ids=senders,
        default_sender_id=_id(form, "default_sender_id"),
    )


def _recipient(
    db: Session, variants: CampaignVariants, language: str, audience: AudienceIn
) -> _Sampled | str:
    """The variant of the audience's first recipient who gets the text of `language`
    (their message, from their country's number), or a sample's; a string says why the
    sample can be reached by no number."""
    sample: dict[str, object] = {"first_name": SAMPLE_NAMES[language], "language": language}
    if audience.groups or audience.segments:
        rows = iter_audience(session=db, group_ids=audience.groups, segment_ids=audience.segments)
        for row, fields in islice(rows, PREVIEW_SCAN):
            chosen = variants.choose(row.language, row.phone)
            if not isinstance(chosen, str) and chosen.language == language:
                return _Sampled(chosen, dict(fields))
    chosen = variants.choose(language, "")
    if isinstance(chosen, str):
        return chosen
    return _Sampled(
        Variant(variants.texts[language], chosen.sender, variants.composer(
            variants.texts[language], chosen.sender), language),
        sample,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Sampled:
    variant: Variant
    fields: dict[str, object]


def _panel(
    request: Request,
    db: Session,
    view: Viewer,
    form: dict[str, str],
    variants: CampaignVariants,
    language: str,
    variant: int | None = None,
) -> TextPanel:
    """The panel of the text in `language`: the campaign's, or A/B test `variant`'s
    (`form` then holds the variant's texts in the campaign's fields)."""
    main = language == variants.main.language
    own = "template" if main else f"translation-{language}"
    field = own if variant is None else f"ab-{variant}-{own}"
    target = "analysis" + ("" if variant is None else f"-ab-{variant}")
    target += "" if main else f"-{language}"
    name = "" if variant is None else variant_name(variant)
    text = form.get(own, "")[:5000]
    audience = AudienceIn(groups=_ids(form, "group-"), segments=_ids(form, "segment-"))
    # The main text goes to its language's recipients and to those of any language
    # without a translation; a translation to its language's.
    spoken = [
        lang for lang in LANGUAGES if lang == language or (main and lang not in variants.texts)
    ]
    ctx = context(request)
    try:
        sampled = _recipient(db, variants, language, audience)
        sender = (
            sampled.variant.sender.id
            if isinstance(sampled, _Sampled) and sampled.variant.sender is not None
            else None
        )
        body = AnalyzeIn(
            text=text,
            type=form.get("type", "promotional"),
            language="fr" if language == "fr" else "en",
            sender_id=sender,
            audience=audience if audience.groups or audience.segments else None,
            languages=spoken,
        )
        result = analysis(body, ctx.settings, ctx.engine)
        preview = ""
        if isinstance(sampled, _Sampled):
            composed = sampled.variant.composer.compose(
                sampled.fields,
                language=sampled.variant.recipient_language,
                link=sample_link(ctx.settings),
            )
            preview = composed.text
    except (RichsmsError, ValueError) as exc:
        problem = exc.told(view.gettext) if isinstance(exc, RichsmsError) else str(exc)
        return TextPanel(language, field, target, problem=problem, variant=name)
    suggestions = result["suggestions"]
    diff = _diff(text, suggestions["replacements"]) if suggestions["replacements"] else None
    return TextPanel(
        language,
        field,
        target,
        result=result,
        preview=preview,
        diff=diff,
        warnings=tuple(warning.told(view.gettext) for warning in result["warnings"]),
        variant=name,
    )


def analyze(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    """The analysis of each text: the main one's panel answers the request, each
    translation's and each A/B test variant's own text's is swapped in beside its text
    (out of band). A variant's panels are made again only when what they show changed
    since the page last had them (`ab.ANALYZED` says what it has): typing in one text
    does not analyse the audience once more for each variant."""
    settings = context(request).settings
    variants = CampaignVariants(session=db, campaign=_shape(form), settings=settings)
    panels = [_panel(request, db, view, form, variants, lang) for lang in variants.texts]
    shown = set(form.get(ab.ANALYZED, "").split())
    analyzed, cleared = [], []
    for index in range(ab.variant_count(form)):
        own = f"ab-{index}-"
        fields = {  # the campaign's field for each language: its text in the variant
            lang: "template" if lang == variants.main.language else f"translation-{lang}"
            for lang in variants.texts
        }
        texts = {f: form[own + f] for f in fields.values() if form.get(own + f, "").strip()}
        mark = ab.analysis_mark(form, index, [f"translation-{lang}" for lang in fields])
        wanted = []
        for lang, field in fields.items():
            target = f"analysis-ab-{index}" + ("" if field == "template" else f"-{lang}")
            token = f"{target}:{mark if field in texts else 'none'}"
            analyzed.append(token)
            if token in shown:
                continue  # the page shows it as it is
            if field in texts:
                wanted.append(lang)
            else:
                cleared.append(target)
        if not wanted:
            continue
        pages = {f: form[own + f] for f in ("page_id",) if form.get(own + f)}
        changed = form | texts | pages
        tested = CampaignVariants(session=db, campaign=_shape(changed), settings=settings)
        panels += [_panel(request, db, view, changed, tested, lang, index) for lang in wanted]
    several = len(variants.texts) > 1
    return fragment(
        view,
        "_analyses.html",
        panels=panels,
        several=several,
        cleared=cleared,
        analyzed=" ".join(analyzed) if ab.variant_count(form) else None,
    )
