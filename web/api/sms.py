"""`POST /api/sms/analyze`: what a message or template will cost, and how to make it cheaper."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from richsms.settings import Settings
from sender.audience import analyze_audience, estimate_template
from sender.encoding import analyze
from sender.optout import OptOutTexts
from sender.suggestions import suggest_gsm7
from sender.templates import compile_template
from web.bodies import read_model
from web.openapi import Operation

FieldValue = str | int | float | bool | None


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contacts: list[dict[str, FieldValue]] = Field(
        max_length=100_000, description="Contacts to analyse the template over, as field maps."
    )


class AnalyzeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=5_000, description="The message text or template.")
    type: Literal["promotional", "informational", "administrative"] = Field(
        "promotional", description="Promotional messages carry the opt-out mention."
    )
    language: Literal["fr", "en"] = Field("en", description="Language of the estimate.")
    custom_fields: list[str] = Field(default_factory=list, max_length=500)
    field_lengths: dict[str, tuple[int, int]] = Field(
        default_factory=dict, description="Min and max length per field, for the estimate."
    )
    audience: AudienceIn | None = None


class AnalyzeOut(BaseModel):
    encoding: Literal["GSM-7", "UCS-2"]
    characters: int
    units: int
    segments: int
    remaining: int
    non_gsm: list[str]
    suggestions: dict[str, Any]
    template: dict[str, Any]
    estimate: dict[str, Any] | None = None
    audience: dict[str, Any] | None = None


def _analysis(body: AnalyzeIn, settings: Settings) -> dict[str, Any]:
    template = compile_template(body.text, custom_fields=body.custom_fields)
    link_length = len(settings.short_url) + settings.link_code_length
    opt_out = (
        OptOutTexts(en=settings.opt_out_en, fr=settings.opt_out_fr)
        if body.type == "promotional"
        else None
    )
    result: dict[str, Any] = analyze(body.text).as_dict()
    result["suggestions"] = suggest_gsm7(body.text).as_dict()
    result["template"] = {"fields": list(template.fields), "uses_link": template.uses_link}
    if body.audience is None:
        result["estimate"] = estimate_template(
            template,
            field_lengths=body.field_lengths,
            link_length=link_length,
            opt_out=opt_out,
            price_per_segment=settings.price_per_segment,
            language=body.language,
        ).as_dict()
    else:
        result["audience"] = analyze_audience(
            template,
            iter(body.audience.contacts),
            link_length=link_length,
            opt_out=opt_out,
            price_per_segment=settings.price_per_segment,
        ).as_dict()
    return result


async def analyze_sms(request: Request) -> JSONResponse:
    body = await read_model(request, AnalyzeIn)
    result = await run_in_threadpool(_analysis, body, request.app.state.settings)
    return JSONResponse(AnalyzeOut.model_validate(result).model_dump(mode="json"))


ROUTES = [Route("/sms/analyze", analyze_sms, methods=["POST"])]
OPERATIONS = [
    Operation(
        "POST",
        "/api/sms/analyze",
        "Encoding, length, segments and cost of a message or template, with GSM-7 suggestions.",
        request=AnalyzeIn,
        response=AnalyzeOut,
        errors=(400, 401, 413, 415, 422),
        tags=("sms",),
    )
]
