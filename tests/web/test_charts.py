"""Charts: the SVG for given data is right, accessible and escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from web.charts import (
    HEIGHT,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    Series,
    bar_chart,
    line_chart,
    nice_ceiling,
)

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_bars_are_proportional_to_their_values_on_a_nice_axis() -> None:
    svg = parse(bar_chart(["0-1 min", "1-3 min", "3-10 min"], [40, 20, 10], title="Delay"))
    heights = [float(r.get("height", "")) for r in svg.findall("s:rect", NS)]
    assert len(heights) == 3
    assert heights[0] == pytest.approx(2 * heights[1]) == pytest.approx(4 * heights[2])
    top = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    assert heights[0] == pytest.approx(top * 40 / 50)  # the axis tops at 50, not 40
    labels = [t.text for t in svg.findall("s:text", NS)]
    assert {"0", "25", "50", "0-1 min", "3-10 min"} <= set(labels)


def test_the_text_alternative_names_the_figures() -> None:
    svg = parse(bar_chart(["a", "b"], [3, 7], title="Clicks per hour", unit=" clicks"))
    assert svg.get("role") == "img"
    title_id, desc_id = (svg.get("aria-labelledby") or "").split()
    assert svg.find(f"s:title[@id='{title_id}']", NS) is not None
    desc = svg.find(f"s:desc[@id='{desc_id}']", NS)
    assert desc is not None and desc.text is not None
    assert "total 10 clicks" in desc.text and "highest 7 clicks at b" in desc.text


def test_a_french_viewer_reads_the_chart_in_french() -> None:
    svg = parse(bar_chart(["a", "b"], [1500, 7.25], title="Clics", unit=" clics", language="fr"))
    desc = svg.find("s:desc", NS)
    assert desc is not None and desc.text is not None
    assert "Clics : 2 barres, total 1\u202f507,2 clics ; maximum 1\u202f500 clics à a" in desc.text
    assert {"0", "1\u202f000", "2\u202f000"} <= {t.text for t in svg.findall("s:text", NS)}
    lines = parse(
        line_chart(["1/12", "2/12"], [Series("Net", [1, 2])], title="Solde", language="fr")
    )
    assert lines.findtext("s:desc", None, NS) == "Solde, du 1/12 au 2/12. Net : total 3, maximum 2."
    empty = parse(bar_chart(["a"], [0], title="Clics", language="fr"))
    assert "Pas encore de données" in [t.text for t in empty.findall("s:text", NS)]


def test_labels_are_data_never_markup() -> None:
    svg = bar_chart(["<script>alert(1)</script>"], [1], title="<b>x</b>")
    assert "<script>" not in svg and "<b>" not in svg
    assert parse(svg).find("s:title", NS) is not None


def test_no_data_says_so_instead_of_an_empty_frame() -> None:
    svg = parse(bar_chart(["a", "b"], [0, 0], title="Delay", empty_text="Aucun clic"))
    assert svg.findall("s:rect", NS) == []
    assert [t.text for t in svg.findall("s:text", NS)] == ["Aucun clic"]
    assert parse(line_chart([], [], title="Growth")).find("s:polyline", NS) is None


def test_lines_span_negative_values_and_carry_a_legend() -> None:
    labels = ["Mon", "Tue", "Wed"]
    svg = parse(
        line_chart(
            labels,
            [Series("opt-ins", [5, 10, 0]), Series("net", [5, -4, 0])],
            title="Subscribers",
        )
    )
    lines = svg.findall("s:polyline", NS)
    assert len(lines) == 2
    ys = [float(p.split(",")[1]) for p in (lines[1].get("points") or "").split()]
    assert ys[1] > ys[2] > ys[0]  # SVG y grows downwards: -4 lowest, then 0, then 5
    axis = [t.text for t in svg.findall("s:text", NS)]
    assert "-5" in axis and "10" in axis and "opt-ins" in axis and "net" in axis


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (0.4, 1), (1, 1), (7, 10), (40, 50), (120, 200), (2400, 2500)]
)
def test_axis_tops_read_well(value: float, top: float) -> None:
    assert nice_ceiling(value) == top


def test_mismatched_data_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        bar_chart(["a"], [1, 2], title="x")
    with pytest.raises(ValueError):
        line_chart(["a"], [Series("s", [1, 2])], title="x")
