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
    "heading": "Heading",
    "text": "Text",
    "image": "Image",
    "button": "Button",
    "footer": "Footer",
    "countdown": "Countdown",
    "coupon": "Coupon",
    "scratch": "Scratch card",
    "wheel": "Wheel",
}
SOURCES = (("generate", "Generated codes"), ("pool", "Codes from a pool"))
SYMBOLOGIES = (("code128", "Barcode (Code 128)"), ("ean13", "Barcode (EAN-13)"), ("qr", "QR code"))


def _coupon(prefix: str) -> list[FormField]:
    return [
        FormField(prefix + "source", "Coupon source", "select", SOURCES),
        FormField(prefix + "pattern", "Code pattern (# a digit, ? a letter)"),
        FormField(prefix + "pool_id", "Coupon pool", "pool"),
        FormField(prefix + "symbology", "Shown as", "select", SYMBOLOGIES),
    ]


def fields_of(kind: str, prize_rows: int = 0) -> list[FormField]:
    """The form of a block type (a wheel shows its prizes and one empty row to add one)."""
    if kind == "heading":
        return [
            FormField("text", "Text", merge=True, required=True),
            FormField("level", "Level", "select", (("1", "Title"), ("2", "Subtitle"))),
        ]
    if kind in ("text", "footer"):
        return [FormField("text", "Text", "textarea", merge=True, required=True)]
    if kind == "image":
        return [
            FormField("image_id", "Image", "image", required=True),
            FormField("alt", "Description for screen readers", merge=True),
        ]
    if kind == "button":
        return [
            FormField("label", "Label", merge=True, required=True),
            FormField("href", "Link (https://, tel: or sms:)", "url", required=True),
        ]
    if kind == "countdown":
        return [
            FormField("label", "Label", merge=True),
            FormField("deadline", "Ends at", "datetime", required=True),
            FormField("zone", "Time zone"),
            FormField("expired_text", "Text once ended", merge=True, required=True),
        ]
    if kind == "coupon":
        return [FormField("label", "Label", merge=True), *_coupon("")]
    if kind == "scratch":
        return [
            FormField("prize", "Prize", "select", (("text", "A message"), ("coupon", "A coupon"))),
            FormField("text", "Message", "textarea", merge=True),
            *_coupon("coupon."),
        ]
    if kind == "wheel":
        rows = min(MAX_PRIZES, prize_rows + 1)
        prizes: list[FormField] = []
        for i in range(rows):
            prizes += [
                FormField(f"prizes.{i}.label", "Label"),
                FormField(f"prizes.{i}.weight", "Weight", "number"),
                FormField(f"prizes.{i}.coupon", "Wins a coupon", "checkbox"),
            ]
        return [*prizes, *_coupon("coupon.")]
    return []


def default_settings(kind: str, language: str, now: datetime) -> dict[str, Any]:
    """What a new block of `kind` starts with: valid, so the draft saves at once."""
    fr = language == "fr"
    week = (now + timedelta(days=7)).replace(microsecond=0).isoformat()
    defaults: dict[str, dict[str, Any]] = {
        "heading": {"text": "Nouveau titre" if fr else "New heading", "level": 1},
        "text": {"text": "Votre texte" if fr else "Your text"},
        "button": {"label": "J'en profite" if fr else "Shop now", "href": "https://example.com"},
        "footer": {"text": "STOP au 36180" if fr else "Reply STOP to opt out"},
        "countdown": {
            "deadline": week,
            "expired_text": "L'offre est terminée" if fr else "The offer has ended",
            "label": "Plus que" if fr else "Ends in",
        },
        "coupon": {"source": "generate", "pattern": "PROMO-######", "symbology": "code128"},
        "scratch": {"prize": "text", "text": "Gagné !" if fr else "You won!"},
        "wheel": {
            "prizes": [
                {"label": "-10 %", "weight": 1},
                {"label": "Perdu" if fr else "Try again", "weight": 3},
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
    spec: dict[str, Any] = {
        "source": form.get(prefix + "source", "generate"),
        "symbology": form.get(prefix + "symbology", "code128"),
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
            prizes.append(
                {
                    "label": label,
                    "weight": text(f"prizes.{i}.weight", "").strip() or "1",
                    "coupon": text(f"prizes.{i}.coupon") == "on",
                }
            )
        raw["prizes"] = prizes
        if any(p["coupon"] for p in prizes):
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
        for problem in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(p) for p in problem["loc"])
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
