"""Small charts drawn on the server as inline SVG: no chart library and no script in the browser.

Only presentation attributes (fill, font-size...), never style=, so the content security policy
lets them through. Every chart has a title for screen readers; the page shows its numbers in a
table beneath. Nothing here knows Flask or the database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# In user units; on a 360 px phone one unit is about one pixel, so the text reads at 12 px.
WIDTH = 320
# The chart's own size in CSS pixels: the page may shrink it to a phone's width (max-width in
# app.css) but never stretches it, so on a 1280 px screen the text reads at 15 px, not 48.
DISPLAY_SCALE = 1.25
FONT_SIZE = 12
ROW_HEIGHT = 24
LABEL_WIDTH = 104
VALUE_WIDTH = 40
LEGEND_HEIGHT = 20
LABEL_GAP = 8  # between two labels of an axis
AXIS_COLOUR = "#888"
TEXT_COLOUR = "#1a1a1a"

GREEN, YELLOW, RED, BLUE, GREY = "#0f7b3a", "#e0a100", "#c62828", "#12406b", "#6b7280"


@dataclass(frozen=True)
class Series:
    """One kind of value: its name in the legend, its fill and its legend shape."""

    label: str
    fill: str
    shape: str = "square"  # square, circle or triangle: never colour alone


def _text_width(text: str) -> float:
    # Wide (CJK) characters take a full em; Latin letters and digits about six tenths.
    return sum(FONT_SIZE if ord(char) > 0x2E7F else FONT_SIZE * 0.6 for char in text)


def fit(text: str, width: float) -> str:
    """Shorten text with an ellipsis so that it fits the width (the table shows it whole)."""
    if _text_width(text) <= width:
        return text
    while text and _text_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def nice_ceiling(value: float) -> int:
    """Round up to 1, 2 or 5 times a power of ten, so the axis reads well."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return int(step * power)
    return int(10 * power)


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(chart_id: str, title: str, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {_number(height)}" width="{_number(WIDTH * DISPLAY_SCALE)}" '
        f'height="{_number(height * DISPLAY_SCALE)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" font-family="system-ui,sans-serif" '
        f'font-size="{FONT_SIZE}" fill="{TEXT_COLOUR}">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
    ]


def _mark(series: Series, x: float, y: float, size: float = 10) -> str:
    if series.shape == "circle":
        radius = size / 2
        return f'<circle cx="{_number(x + radius)}" cy="{_number(y + radius)}" r="{_number(radius)}" fill="{series.fill}"/>'
    if series.shape == "triangle":
        return (
            f'<path d="M{_number(x + size / 2)} {_number(y)} L{_number(x + size)} {_number(y + size)} '
            f'L{_number(x)} {_number(y + size)}Z" fill="{series.fill}"/>'
        )
    return f'<rect x="{_number(x)}" y="{_number(y)}" width="{size}" height="{size}" fill="{series.fill}"/>'


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = ['<g class="legend">'], 0.0
    for item in series:
        parts.append(_mark(item, x, 4))
        parts.append(f'<text x="{_number(x + 14)}" y="13">{escape(item.label)}</text>')
        x += 14 + _text_width(item.label) + 14
    parts.append("</g>")
    return parts


def horizontal_bars(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    values: Sequence[Sequence[int]],
) -> Markup:
    """Draw one bar per label, its series stacked, with the row's total after it."""
    top = LEGEND_HEIGHT if len(series) > 1 else 0
    height = top + max(len(labels), 1) * ROW_HEIGHT + 4
    parts = _open(chart_id, title, height)
    if top:
        parts += _legend(series)
    largest = max([sum(row) for row in values] + [1])
    scale = (WIDTH - LABEL_WIDTH - VALUE_WIDTH) / largest
    for index, (label, row) in enumerate(zip(labels, values, strict=True)):
        y = top + index * ROW_HEIGHT
        parts.append(f'<g class="row"><title>{escape(label)}: {sum(row)}</title>')
        baseline = y + ROW_HEIGHT / 2 + FONT_SIZE * 0.35
        parts.append(
            f'<text x="0" y="{_number(baseline)}">{escape(fit(label, LABEL_WIDTH - 6))}</text>'
        )
        x = float(LABEL_WIDTH)
        for item, value in zip(series, row, strict=True):
            if value:
                width = value * scale
                parts.append(
                    f'<rect x="{_number(x)}" y="{y + 4}" width="{_number(width)}" '
                    f'height="{ROW_HEIGHT - 8}" fill="{item.fill}">'
                    f"<title>{escape(label)}, {escape(item.label)}: {value}</title></rect>"
                )
                x += width
        parts.append(f'<text x="{_number(x + 4)}" y="{_number(baseline)}">{sum(row)}</text></g>')
    if not labels:
        parts.append(
            f'<line x1="{LABEL_WIDTH}" y1="{top + 2}" x2="{LABEL_WIDTH}" '
            f'y2="{top + ROW_HEIGHT}" stroke="{AXIS_COLOUR}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(
    chart_id: str, title: str, labels: Sequence[str], values: Sequence[int], fill: str = BLUE
) -> Markup:
    """Draw one column per label (a day, usually) on a zero-based axis with its top value."""
    height, left, bottom, plot_top = 150.0, 36.0, 128.0, 8.0
    parts = _open(chart_id, title, height)
    top_value = nice_ceiling(max(list(values) + [0]))
    plot_height = bottom - plot_top
    parts.append(
        f'<line x1="{left}" y1="{bottom}" x2="{WIDTH}" y2="{bottom}" stroke="{AXIS_COLOUR}"/>'
    )
    parts.append(f'<line x1="{left}" y1="{plot_top}" x2="{WIDTH}" y2="{plot_top}" stroke="#ddd"/>')
    parts.append(f'<text x="{left - 4}" y="{plot_top + 4}" text-anchor="end">{top_value}</text>')
    parts.append(f'<text x="{left - 4}" y="{bottom + 4}" text-anchor="end">0</text>')
    count = max(len(values), 1)
    slot = (WIDTH - left) / count
    # At most seven labels, and never closer than the widest one and a gap ("12月24日" is wider
    # than "12-24"): the table beneath names every day.
    widest = max((_text_width(label) for label in labels), default=0)
    every = max(1, math.ceil(count / 7), math.ceil((widest + LABEL_GAP) / slot))
    shown_until = -LABEL_GAP
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + index * slot
        bar_height = value / top_value * plot_height
        parts.append(
            f'<rect x="{_number(x + slot * 0.15)}" y="{_number(bottom - bar_height)}" '
            f'width="{_number(slot * 0.7)}" height="{_number(bar_height)}" fill="{fill}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        # Centred under its column, but kept inside the chart at either end; a label pushed
        # in from the end onto the one before it is left out.
        half = _text_width(label) / 2
        centre = min(max(x + slot / 2, half), WIDTH - half)
        if index % every == 0 and centre - half >= shown_until + LABEL_GAP / 2:
            shown_until = centre + half
            parts.append(
                f'<text x="{_number(centre)}" y="{bottom + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
