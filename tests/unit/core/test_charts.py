"""Server-drawn SVG charts: valid SVG, no style attributes, labels escaped, sizes that add up."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest

from gantong.core import charts

# Pure: no app, no database; run once, on the SQLite pass.
pytestmark = pytest.mark.nodb

SVG = "{http://www.w3.org/2000/svg}"
COLOURS = [
    charts.Series("Green code", charts.GREEN, "circle"),
    charts.Series("Yellow code", charts.YELLOW, "triangle"),
    charts.Series("Red code", charts.RED),
]


def parse(markup) -> ET.Element:
    root = ET.fromstring(str(markup))
    assert root.tag == SVG + "svg" and root.get("role") == "img"
    for element in root.iter():
        assert element.tag.startswith(SVG)
        assert "style" not in element.attrib
    return root


def bars(root, fill=None):
    return [
        rect
        for rect in root.iter(SVG + "rect")
        if rect.find(SVG + "title") is not None and (fill is None or rect.get("fill") == fill)
    ]


def test_stacked_bars_scale_to_the_largest_row():
    root = parse(
        charts.horizontal_bars(
            "c", "Codes by colour", ["南昌市", "赣州市"], COLOURS, [[6, 3, 1], [2, 0, 0]]
        )
    )
    assert root.find(SVG + "title").text == "Codes by colour"
    assert root.get("aria-labelledby") == "c-title"
    widths = {rect.find(SVG + "title").text: float(rect.get("width")) for rect in bars(root)}
    assert set(widths) == {
        "南昌市, Green code: 6",
        "南昌市, Yellow code: 3",
        "南昌市, Red code: 1",
        "赣州市, Green code: 2",
    }
    full = charts.WIDTH - charts.LABEL_WIDTH - charts.VALUE_WIDTH
    assert sum(w for title, w in widths.items() if title.startswith("南昌市")) == pytest.approx(
        full
    )
    assert widths["赣州市, Green code: 2"] == pytest.approx(full / 5)
    texts = [text.text for text in root.iter(SVG + "text")]
    assert "10" in texts and "2" in texts and "Yellow code" in texts  # totals and the legend


def test_zero_rows_and_empty_charts_draw_no_bars():
    root = parse(
        charts.horizontal_bars("z", "Nothing", ["A", "B"], COLOURS, [[0, 0, 0], [0, 0, 0]])
    )
    assert bars(root) == []
    parse(charts.horizontal_bars("e", "Empty", [], [charts.Series("n", charts.BLUE)], []))
    root = parse(charts.columns("d", "Days", ["05-01", "05-02"], [0, 0]))
    assert all(float(rect.get("height")) == 0 for rect in bars(root))


def test_labels_are_escaped_and_shortened():
    label = '<script>alert("x")</script> & 很长很长很长很长很长的名字'
    markup = charts.horizontal_bars(
        "x", 'Title with "quotes" & <b>', [label], [charts.Series("n", charts.BLUE)], [[1]]
    )
    assert "<script>" not in str(markup)
    root = parse(markup)
    assert root.find(SVG + "title").text == 'Title with "quotes" & <b>'
    shown = [text.text for text in root.iter(SVG + "text")][0]
    assert shown.endswith("…") and charts._text_width(shown) <= charts.LABEL_WIDTH
    assert root.find(f"{SVG}g/{SVG}title").text == f"{label}: 1"  # whole in the tooltip


def test_columns_use_a_round_axis_and_label_every_few_days():
    values = list(range(30))
    root = parse(
        charts.columns("d", "Verifications per day", [f"05-{d:02d}" for d in range(1, 31)], values)
    )
    heights = [float(rect.get("height")) for rect in bars(root)]
    assert len(heights) == 30 and heights[0] == 0
    assert heights[29] == pytest.approx(29 / 50 * 120)  # 29 on an axis that tops at 50
    labels = [text.text for text in root.iter(SVG + "text")]
    assert (
        "50" in labels
        and "05-01" in labels
        and 5 <= sum(1 for t in labels if t.startswith("05-")) <= 8
    )


@pytest.mark.parametrize(
    "value, ceiling",
    [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (99, 100), (101, 200), (4500, 5000)],
)
def test_nice_ceiling(value, ceiling):
    assert charts.nice_ceiling(value) == ceiling


def test_a_chart_keeps_its_own_size_and_text_size():
    root = parse(charts.columns("d", "Days", ["7 Dec"], [1]))
    view = [float(number) for number in root.get("viewBox").split()]
    # Its own size in pixels, 1.25 of the drawing: stretched by nothing, shrunk by a phone.
    assert float(root.get("width")) == view[2] * charts.DISPLAY_SCALE == 400
    assert float(root.get("height")) == view[3] * charts.DISPLAY_SCALE
    assert root.get("font-size") == "12"


@pytest.mark.parametrize(
    "labels",
    [
        [f"11月{day}日" for day in range(24, 31)] + [f"12月{day}日" for day in range(1, 8)],
        [f"{day} Nov" for day in range(24, 31)] + [f"{day} Dec" for day in range(1, 8)],
        [f"12月{day}日" for day in range(1, 31)],
    ],
)
def test_day_labels_never_overlap_nor_leave_the_chart(labels):
    root = parse(charts.columns("d", "Days", labels, [1] * len(labels)))
    spans = []
    for text in root.iter(SVG + "text"):
        if text.text in labels:
            width = charts._text_width(text.text)
            x = float(text.get("x"))
            start = {"middle": x - width / 2, "end": x - width}.get(text.get("text-anchor"), x)
            spans.append((start, start + width))
    assert len(spans) >= 3
    assert spans[0][0] >= 0 and spans[-1][1] <= charts.WIDTH + 0.1, spans
    assert all(left[1] + 4 <= right[0] for left, right in pairwise(spans)), spans
