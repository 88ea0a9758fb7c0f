"""`POST /api/sms/analyze`: what a message or template will cost, and how to make it cheaper."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Engine

from richsms import processes
from richsms.accounts.profile import brand_name
from richsms.accounts.roles import Permission
from richsms.db import read_session
from richsms.settings import Settings
from richsms.types import Id
from sender.audience.consent import refusal
from sender.audience.custom_fields import MAX_CUSTOM_FIELD_NAME, MAX_CUSTOM_FIELDS
from sender.audience.recipient_locale import recipient_language
from sender.audience.selection import iter_audience
from sender.compose.analysis import analyze_audience, estimate_template
from sender.compose.composition import Composer
from sender.compose.encoding import analyze
from sender.compose.estimate import MAX_FIELD_LENGTH
from sender.compose.identification import identification_warning
from sender.compose.suggestions import suggest_gsm7
from web.context import AppContext
from web.openapi import RouteTable

FieldValue = str | int | float | bool | None
# Time one analysis may spend rendering, in all (each render has its own budget too): an
# ordinary template over a million distinct contacts needs a few seconds.
RENDER_SECONDS = 30.0
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CUSTOM_FIELD_NAME)]
FieldLength = Annotated[int, Field(ge=0, le=MAX_FIELD_LENGTH)]


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    groups: list[Id] = Field(default_factory=list, max_length=1000)
    segments: list[Id] = Field(default_factory=list, max_length=1000)
    contacts: list[dict[str, FieldValue]] = Field(
        default_factory=list,
        max_length=100_000,
        description="Contacts given inline, as field maps, instead of groups and segments.",
    )


class AnalyzeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=5_000, description="The message text or template.")
    type: Literal["promotional", "informational", "administrative"] = Field(
        "promotional", description="Promotional messages carry the opt-out mention."
    )
    language: Literal["fr", "en"] = Field("en", description="Language of the estimate.")
    custom_fields: list[FieldName] = Field(default_factory=list, max_length=MAX_CUSTOM_FIELDS)
    field_lengths: dict[FieldName, tuple[FieldLength, FieldLength]] = Field(
        default_factory=dict,
        max_length=MAX_CUSTOM_FIELDS,
        description="Min and max length per field, for the estimate "
        f"(0 to {MAX_FIELD_LENGTH} characters).",
    )
    sender_id: Id | None = Field(
        None, description="The sender number the opt-out mention names (default: the provider's)."
    )
    audience: AudienceIn | None = None
    languages: list[Literal["fr", "en"]] | None = Field(
        None,
        max_length=2,
        description="Only the audience's recipients addressed in one of these languages "
        "(their own, else their number's): the recipients of one translation.",
    )


class WarningOut(BaseModel):
    code: str = Field(description="`brand_missing`: a promotional text without the brand.")
    message: str


class AnalyzeOut(BaseModel):
    encoding: Literal["GSM-7", "UCS-2"]
    characters: int
    units: int
    segments: int
    remaining: int
    non_gsm: list[str]
    suggestions: dict[str, Any]
    template: dict[str, Any]
    warnings: list[WarningOut] = Field(
        default_factory=list,
        description="What to fix before sending: a promotional text that does not contain "
        "the account's brand name (Canada's anti-spam law requires the sender to be "
        "identified in every commercial message).",
    )
    estimate: dict[str, Any] | None = None
    audience: dict[str, Any] | None = None


def _recipients(
    engine: Engine, body: AnalyzeIn, audience: AudienceIn, region: str
) -> Iterator[Mapping[str, object]]:
    """The contacts who would receive the message now: opted-out contacts, and contacts
    without consent for a promotional message, are left out as the sender would; so are
    those addressed in another language than `body.languages`, when given."""
    wanted = set(body.languages) if body.languages is not None else None
    if audience.contacts:
        for contact in audience.contacts:
            if wanted is None or _language(contact, region) in wanted:
                yield contact
        return
    # A read-only session: on SQLite it holds no write lock however long the audience.
    with read_session(engine) as session:
        for row, fields in iter_audience(
            session=session, group_ids=audience.groups, segment_ids=audience.segments
        ):
            if refusal(row.status, row.consent_type, body.type) is not None:
                continue
            language = recipient_language(row.language, row.phone, region)
            if wanted is None or language in wanted:
                # A contact without a language of their own is addressed in their number's:
                # their opt-out mention too, as planning gives it.
                yield fields if row.language else {**fields, "language": language}


def _language(contact: Mapping[str, object], region: str) -> str:
    """An inline contact's language, as a recipient's is read."""
    language, phone = contact.get("language"), contact.get("phone")
    return recipient_language(
        language if isinstance(language, str) else None,
        phone if isinstance(phone, str) else "",
        region,
    )


def _analysis(body: AnalyzeIn, settings: Settings, engine: Engine) -> dict[str, Any]:
    with read_session(engine) as session:
        composer = Composer.saved(
            session=session, template=body.text, type=body.type, settings=settings,
            sender_id=body.sender_id, declared=body.custom_fields,
        )  # fmt: skip
        brand = brand_name(session)
    template = composer.template
    assert template is not None
    link_length = len(settings.short_url) + settings.link_code_length
    result: dict[str, Any] = analyze(body.text).as_dict()
    result["suggestions"] = suggest_gsm7(body.text).as_dict()
    result["template"] = {"fields": list(template.fields), "uses_link": template.uses_link}
    warning = identification_warning(body.text, type=body.type, brand=brand)
    result["warnings"] = [warning] if warning is not None else []  # AnalysisWarning
    if body.audience is None:
        result["estimate"] = estimate_template(
            template,
            field_lengths=body.field_lengths,
            link_length=link_length,
            opt_out=composer.opt_out,
            price_per_segment=settings.price_per_segment,
            language=body.language,
        ).as_dict()
    else:
        result["audience"] = analyze_audience(
            template,
            _recipients(engine, body, body.audience, settings.default_region),
            link_length=link_length,
            opt_out=composer.opt_out,
            price_per_segment=settings.price_per_segment,
            max_segments=composer.max_segments,
            max_render_seconds=RENDER_SECONDS,
        ).as_dict()
    return result


api = RouteTable(tags=("sms",))


@api.post(
    "/sms/analyze",
    "Encoding, length, segments and cost of a message or template, with GSM-7 suggestions.",
    errors=(404,), needs=Permission.BUILD,
)
def analyze_sms(ctx: AppContext, body: AnalyzeIn) -> AnalyzeOut:
    result = analysis(body, ctx.settings, ctx.engine)
    warnings = [warning.as_dict() for warning in result["warnings"]]
    return AnalyzeOut.model_validate(result | {"warnings": warnings})


def analysis(body: AnalyzeIn, settings: Settings, engine: Engine) -> dict[str, Any]:
    """The analysis `POST /api/sms/analyze` and the UI's composer show (its warnings as
    `AnalysisWarning`), computed in a worker process (`richsms.processes`): rendering a
    template over an audience is CPU work. The worker reads the audience itself,
    read-only, and sends back the figures."""
    url = processes.url_of(engine)
    return processes.run(processes.ANALYSIS, _analysis_elsewhere, body, settings, url)


def _analysis_elsewhere(body: AnalyzeIn, settings: Settings, url: str) -> dict[str, Any]:
    return _analysis(body, settings, processes.engine_of(url))
