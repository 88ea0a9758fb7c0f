"""Charts as server-rendered SVG: no script, no library, readable on a phone and a desktop.

Each chart scales to its container (a `viewBox`, no fixed width), carries its own text
alternative (`<title>`, `<desc>` naming the figures a sighted reader would take from
it) and draws with `currentColor`, so the page's colours and dark mode apply. Labels
are escaped: a campaign's name is data, never markup. Its words and numbers are in the
viewer's `language` (the catalogues and Babel's formats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import escape

from richsms import i18n

WIDTH = 640
HEIGHT = 240
MARGIN_LEFT = 48
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 36
PLOT_W = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
PLOT_H = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

_ids = count(1)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]


def _number(value: float, language: str) -> str:
    """A figure as the viewer reads it, with at most one decimal (1,234 or 1 234,5)."""
    return i18n.number(round(value, 1), language)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `value` (axis tops read well)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def _open(title: str, description: str) -> tuple[str, list[str]]:
    n = next(_ids)
    tid, did = f"chart-t{n}", f"chart-d{n}"
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        # Sized by the page's stylesheet (`svg.chart`): a strict CSP refuses style
        # attributes, and the width/height attributes would fix the size.
        f'role="img" aria-labelledby="{tid} {did}" class="chart">',
        f'<title id="{tid}">{escape(title)}</title>',
        f'<desc id="{did}">{escape(description)}</desc>',
    ]
    return tid, head


def _axis(top: float, parts: list[str], language: str) -> None:
    """Horizontal grid lines at 0, ½ and the top, labelled on the left."""
    for fraction in (0.0, 0.5, 1.0):
        y = MARGIN_TOP + PLOT_H * (1 - fraction)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="currentColor" stroke-opacity="0.15"/>'
        )
        parts.append(
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="currentColor">{_number(top * fraction, language)}</text>'
        )


def _x_labels(labels: Sequence[str], step: float, parts: list[str]) -> None:
    # At most ~8 labels, evenly spread, so that they never overlap on a phone.
    every = max(1, -(-len(labels) // 8))
    for i in range(0, len(labels), every):
        x = MARGIN_LEFT + step * (i + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 18}" text-anchor="middle" '
            f'fill="currentColor">{escape(labels[i])}</text>'
        )


def _empty(title: str, empty_text: str) -> str:
    _, parts = _open(title, empty_text)
    parts.append(
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="currentColor">'
        f"{escape(empty_text)}</text></svg>"
    )
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    unit: str = "",
    empty_text: str | None = None,
    language: str = "en",
) -> str:
    """One bar per label (a histogram: reading delay, clicks per hour...)."""
    if len(labels) != len(values):
        raise ValueError("one value per label")
    _ = i18n.translations(language).gettext
    if not values or not any(values):
        return _empty(title, empty_text or _("No data yet"))
    top = nice_ceiling(max(values))
    peak = max(range(len(values)), key=values.__getitem__)
    description = _(
        "{title}: {bars} bars, total {total}{unit}; highest {peak}{unit} at {label}. "
    ).format(
        title=title,
        bars=_number(len(values), language),
        total=_number(sum(values), language),
        unit=unit,
        peak=_number(values[peak], language),
        label=labels[peak],
    ) + "; ".join(
        f"{label}: {_number(v, language)}" for label, v in zip(labels, values, strict=True)
    )
    _, parts = _open(title, description)
    _axis(top, parts, language)
    step = PLOT_W / len(values)
    width = max(1.0, step * 0.8)
    for i, value in enumerate(values):
        height = PLOT_H * value / top
        x = MARGIN_LEFT + step * i + (step - width) / 2
        y = MARGIN_TOP + PLOT_H - height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
            f'fill="currentColor" fill-opacity="0.75"><title>{escape(labels[i])}: '
            f"{_number(value, language)}{escape(unit)}</title></rect>"
        )
    _x_labels(labels, step, parts)
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    empty_text: str | None = None,
    language: str = "en",
) -> str:
    """One line per series over the same labels (clicks over time, subscriber growth).
    Values may be negative (net growth): the axis then spans both signs."""
    if any(len(s.values) != len(labels) for s in series):
        raise ValueError("each series needs one value per label")
    values = [v for s in series for v in s.values]
    _ = i18n.translations(language).gettext
    if not labels or not values or not any(values):
        return _empty(title, empty_text or _("No data yet"))
    high = nice_ceiling(max(0.0, max(values)))
    low = -nice_ceiling(-min(values)) if min(values) < 0 else 0.0
    span = high - low
    summary = "; ".join(
        _("{name}: total {total}, highest {highest}").format(
            name=s.name,
            total=_number(sum(s.values), language),
            highest=_number(max(s.values), language),
        )
        for s in series
    )
    description = _("{title}, {first} to {last}. {summary}.").format(
        title=title, first=labels[0], last=labels[-1], summary=summary
    )
    _, parts = _open(title, description)
    for fraction in (0.0, 0.5, 1.0):
        y = MARGIN_TOP + PLOT_H * (1 - fraction)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="currentColor" stroke-opacity="0.15"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="currentColor">{_number(low + span * fraction, language)}</text>'
        )
    step = PLOT_W / len(labels)
    dashes = ("", ' stroke-dasharray="6 4"', ' stroke-dasharray="2 3"')
    for index, s in enumerate(series):
        points = " ".join(
            f"{MARGIN_LEFT + step * (i + 0.5):.1f},"
            f"{MARGIN_TOP + PLOT_H * (1 - (v - low) / span):.1f}"
            for i, v in enumerate(s.values)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="currentColor" stroke-width="2"'
            f"{dashes[index % len(dashes)]}><title>{escape(s.name)}</title></polyline>"
        )
    _x_labels(labels, step, parts)
    if len(series) > 1:  # a legend, since the lines differ by dash, not only by colour
        for index, s in enumerate(series):
            x = MARGIN_LEFT + 140 * index
            parts.append(
                f'<line x1="{x}" x2="{x + 24}" y1="{HEIGHT - 6}" y2="{HEIGHT - 6}" '
                f'stroke="currentColor" stroke-width="2"{dashes[index % len(dashes)]}/>'
                f'<text x="{x + 30}" y="{HEIGHT - 2}" fill="currentColor">'
                f"{escape(s.name)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
