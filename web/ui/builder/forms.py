"""The page builder's block forms: which fields each block type shows, a stored block as
form values, form values back into the settings the block's own pydantic schema checks,
and that schema's errors placed next to the field they are about."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from landing_templates.blocks import BLOCK_TYPES
from richsms import i18n
from richsms.errors import problems
from richsms.i18n import N_
from web.ui.field_errors import field_message

DEFAULT_ZONE = "Europe/Paris"
MAX_PRIZES = 12


@dataclass(frozen=True, slots=True)
class FormField:
    """One input: `name` is the settings path ("coupon.pattern", "prizes.0.label")."""

    name: str
    label: str
    kind: str = "text"  # text, textarea, number, url, select, checkbox, datetime
    choices: tuple[tuple[str, str], ...] = ()
    merge: bool = False  # a text setting: merge fields can be inserted
    required: bool = False


TYPE_LABELS = {
    "heading": N_("Heading"),
    "text": N_("Text"),
    "image": N_("Image"),
    "button": N_("Button"),
    "footer": N_("Footer"),
    "countdown": N_("Countdown"),
    "coupon": N_("Coupon"),
    "scratch": N_("Scratch card"),
    "wheel": N_("Wheel"),
}
SOURCES = (("generate", N_("Generated codes")), ("pool", N_("Codes from a pool")))
SYMBOLOGIES = (
    ("code128", N_("Barcode (Code 128)")),
    ("ean13", N_("Barcode (EAN-13)")),
    ("qr", N_("QR code")),
    ("both", N_("Barcode and QR code, one code")),
    ("ean13+qr", N_("EAN-13 barcode and QR code, one code")),
)


def _coupon(prefix: str) -> list[FormField]:
    return [
        FormField(prefix + "source", N_("Coupon source"), "select", SOURCES),
        FormField(prefix + "pattern", N_("Code pattern (# a digit, ? a letter)")),
        FormField(prefix + "pool_id", N_("Coupon pool"), "pool"),
        FormField(prefix + "symbology", N_("Shown as"), "select", SYMBOLOGIES),
    ]


def fields_of(kind: str, prize_rows: int = 0) -> list[FormField]:
    """The form of a block type (a wheel shows its prizes and one empty row to add one)."""
    if kind == "heading":
        return [
            FormField("text", N_("Text"), merge=True, required=True),
            FormField("level", N_("Level"), "select", (("1", N_("Title")), ("2", N_("Subtitle")))),
        ]
    if kind in ("text", "footer"):
        return [FormField("text", N_("Text"), "textarea", merge=True, required=True)]
    if kind == "image":
        return [
            FormField("image_id", N_("Image"), "image", required=True),
            FormField("alt", N_("Description for screen readers"), merge=True),
        ]
    if kind == "button":
        return [
            FormField("label", N_("Label"), merge=True, required=True),
            FormField("href", N_("Link (https://, tel: or sms:)"), "url", required=True),
        ]
    if kind == "countdown":
        return [
            FormField("label", N_("Label"), merge=True),
            FormField("deadline", N_("Ends at"), "datetime", required=True),
            FormField("zone", N_("Time zone")),
            FormField("expired_text", N_("Text once ended"), merge=True, required=True),
        ]
    if kind == "coupon":
        return [FormField("label", N_("Label"), merge=True), *_coupon("")]
    if kind == "scratch":
        return [
            FormField(
                "prize",
                N_("Prize"),
                "select",
                (("text", N_("A message")), ("coupon", N_("A coupon"))),
            ),
            FormField("text", N_("Message"), "textarea", merge=True),
            *_coupon("coupon."),
        ]
    if kind == "wheel":
        rows = min(MAX_PRIZES, prize_rows + 1)
        prizes: list[FormField] = []
        for i in range(rows):
            prizes += [
                FormField(f"prizes.{i}.label", N_("Label")),
                FormField(f"prizes.{i}.weight", N_("Weight"), "number"),
                FormField(f"prizes.{i}.coupon", N_("Wins the wheel's coupon"), "checkbox"),
                FormField(f"prizes.{i}.coupon.pattern", N_("Or its own code pattern")),
                FormField(f"prizes.{i}.coupon.pool_id", N_("Or its own pool"), "pool"),
                FormField(f"prizes.{i}.text", N_("Text when the wheel stops here")),
            ]
        return [*prizes, *_coupon("coupon.")]
    return []


def default_settings(kind: str, language: str, now: datetime) -> dict[str, Any]:
    """What a new block of `kind` starts with, in the page's `language`: valid, so the draft
    saves at once."""
    catalogue = i18n.translations(language)
    _, pgettext = catalogue.gettext, catalogue.pgettext
    week = (now + timedelta(days=7)).replace(microsecond=0).isoformat()
    defaults: dict[str, dict[str, Any]] = {
        "heading": {"text": _("New heading"), "level": 1},
        "text": {"text": _("Your text")},
        "button": {"label": _("Shop now"), "href": "https://example.com"},
        "footer": {"text": _("Reply STOP to opt out")},
        "countdown": {
            "deadline": week,
            "expired_text": _("The offer has ended"),
            "label": _("Ends in"),
        },
        "coupon": {"source": "generate", "pattern": "PROMO-######", "symbology": "code128"},
        "scratch": {"prize": "text", "text": _("You won!")},
        "wheel": {
            "prizes": [
                {"label": "-10 %", "weight": 1},
                {"label": pgettext("wheel prize", "Try again"), "weight": 3},
            ]
        },
    }
    return {"type": kind, **defaults.get(kind, {})}


def values_of(block: dict[str, Any]) -> dict[str, str]:
    """A stored block as the strings its form shows."""
    values: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}{key}.", inner)
        elif isinstance(value, list | tuple):
            for index, inner in enumerate(value):
                walk(f"{prefix}{index}.", inner)
        elif isinstance(value, bool):
            values[prefix[:-1]] = "on" if value else ""
        elif isinstance(value, float) and value.is_integer():
            values[prefix[:-1]] = str(int(value))
        elif value is not None:
            values[prefix[:-1]] = str(value)

    walk("", block)
    for key in [k for k in values if k.endswith("symbology.0")]:  # a list of symbologies
        name = key[: -len(".0")]
        shown = [values.pop(f"{name}.{i}") for i in range(3) if f"{name}.{i}" in values]
        values[name] = "both" if shown == ["code128", "qr"] else "+".join(shown)
    if block.get("type") == "countdown" and values.get("deadline"):
        try:
            moment = datetime.fromisoformat(values["deadline"]).astimezone(ZoneInfo(DEFAULT_ZONE))
            values["deadline"] = moment.strftime("%Y-%m-%dT%H:%M")
            values["zone"] = DEFAULT_ZONE
        except ValueError:
            pass
    return values


def prize_rows(values: dict[str, str]) -> int:
    return sum(1 for i in range(MAX_PRIZES) if f"prizes.{i}.label" in values)


def _coupon_from(form: dict[str, str], prefix: str) -> dict[str, Any]:
    symbology = form.get(prefix + "symbology", "code128")
    spec: dict[str, Any] = {
        "source": form.get(prefix + "source", "generate"),
        "symbology": symbology.split("+") if "+" in symbology else symbology,
    }
    if form.get(prefix + "pattern", "").strip():
        spec["pattern"] = form[prefix + "pattern"].strip()
    if form.get(prefix + "pool_id", "").strip():
        spec["pool_id"] = form[prefix + "pool_id"].strip()
    return spec


def _deadline(form: dict[str, str]) -> str:
    raw = form.get("deadline", "").strip()
    try:
        zone = ZoneInfo(form.get("zone", "").strip() or DEFAULT_ZONE)
        moment = datetime.fromisoformat(raw)
    except (ValueError, ZoneInfoNotFoundError):
        return raw  # the schema says what is wrong with it, next to the field
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def settings_from_form(kind: str, block_id: str, form: dict[str, str]) -> dict[str, Any]:
    """The raw settings the form describes, for the block type's schema to check."""
    raw: dict[str, Any] = {"type": kind, "id": block_id}
    text = form.get
    if kind == "heading":
        level = text("level", "1")
        raw |= {"text": text("text", ""), "level": int(level) if level in ("1", "2") else level}
    elif kind in ("text", "footer"):
        raw["text"] = text("text", "")
    elif kind == "image":
        raw |= {"image_id": text("image_id", "").strip() or None, "alt": text("alt", "")}
    elif kind == "button":
        raw |= {"label": text("label", ""), "href": text("href", "")}
    elif kind == "countdown":
        raw |= {
            "deadline": _deadline(form),
            "expired_text": text("expired_text", ""),
            "label": text("label", ""),
        }
    elif kind == "coupon":
        raw |= {"label": text("label", ""), **_coupon_from(form, "")}
    elif kind == "scratch":
        raw |= {"prize": text("prize", "text"), "text": text("text", "")}
        if raw["prize"] == "coupon":
            raw["coupon"] = _coupon_from(form, "coupon.")
    elif kind == "wheel":
        prizes = []
        for i in range(MAX_PRIZES):
            label = text(f"prizes.{i}.label", "").strip()
            if not label:
                continue
            prize: dict[str, Any] = {
                "label": label,
                "weight": text(f"prizes.{i}.weight", "").strip() or "1",
                "coupon": text(f"prizes.{i}.coupon") == "on",
                "text": text(f"prizes.{i}.text", "").strip(),
            }
            own = f"prizes.{i}.coupon."
            if text(own + "pattern", "").strip() or text(own + "pool_id", "").strip():
                # The slice's own code, shown as the wheel's coupon is.
                source = "pool" if text(own + "pool_id", "").strip() else "generate"
                prize["coupon"] = _coupon_from(
                    {**form, own + "source": source,
                     own + "symbology": text("coupon.symbology", "code128")},
                    own,
                )
            prizes.append(prize)
        raw["prizes"] = prizes
        if any(p["coupon"] is True for p in prizes):
            raw["coupon"] = _coupon_from(form, "coupon.")
    return raw


def check_settings(
    raw: dict[str, Any], t: Callable[[str], str]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The settings as the block's schema checks them, or the errors by field path
    ("" for the ones about the block as a whole), told through `t`."""
    block_type = BLOCK_TYPES[raw["type"]]
    try:
        settings = block_type.settings.model_validate(raw)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for where, problem in problems(exc):
            message = field_message(problem, t)
            errors[where] = f"{errors[where]} {message}" if where in errors else message
        return None, errors
    return settings.model_dump(mode="json", by_alias=True, exclude_none=True), {}


def summary(block: dict[str, Any]) -> str:
    """A block's one-line description in the list."""
    kind = block.get("type", "")
    if kind == "wheel":
        return ", ".join(str(p.get("label", "")) for p in block.get("prizes", []))
    if kind == "image":
        return str(block.get("alt") or f"#{block.get('image_id')}")
    if kind == "coupon":
        return str(block.get("label") or block.get("pattern") or "")
    text = block.get("text") or block.get("label") or ""
    text = str(text).replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"
