"""Bar charts drawn as inline SVG on the server: no JavaScript, no asset from anywhere else.

    bar_chart(chart_id="sales", title="Orders per day", bars=[Bar("2026-11-01", 3)], value_format=str)

Every piece of text (title, labels, values) is escaped here, so a label holding HTML or script
is shown as text (S16). Each chart carries a <title> and <desc> for screen readers, and the page
shows the same numbers in a table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 32, 48  # margins: room for the title, the value axis and the labels
MAX_LABELS = 16  # past this many bars, only every n-th label is written, so they do not overlap
BAR_COLOUR, AXIS_COLOUR, TEXT_COLOUR = "#1f3a5f", "#888", "#333"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float


def bar_chart(
    *, chart_id: str, title: str, bars: Sequence[Bar], value_format: Callable[[float], str] = "{:,.0f}".format
) -> SafeString:
    """An SVG bar chart of `bars`, scaled from zero to the largest value; "no data" when empty."""
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" aria-labelledby="{escape(title_id)} {escape(desc_id)}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(_description(bars, value_format))}</desc>',
    ]
    # The title again, drawn, for sighted readers (<title> is only a tooltip).
    parts.append(
        f'<text x="{LEFT}" y="16" font-size="14" font-weight="bold" fill="{TEXT_COLOUR}" aria-hidden="true">'
        f"{escape(title)}</text>"
    )
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    parts.append(_line(LEFT, baseline, WIDTH - RIGHT, baseline))
    parts.append(_line(LEFT, TOP, LEFT, baseline))
    if not bars:
        parts.append(_text(LEFT + plot_width / 2, TOP + plot_height / 2, "no data", anchor="middle"))
        return mark_safe("".join(parts) + "</svg>")  # every text above went through escape()
    top_value = max(max(bar.value for bar in bars), 0) or 1
    parts.append(_text(LEFT - 6, TOP + 10, value_format(top_value), anchor="end"))
    parts.append(_text(LEFT - 6, baseline, value_format(0), anchor="end"))
    slot = plot_width / len(bars)
    label_every = -(-len(bars) // MAX_LABELS)  # ceiling division
    for index, bar in enumerate(bars):
        height = max(bar.value, 0) / top_value * plot_height
        x = LEFT + index * slot + slot * 0.1
        parts.append(
            f'<rect x="{x:.1f}" y="{baseline - height:.1f}" width="{max(slot * 0.8, 0.5):.1f}" '
            f'height="{height:.1f}" fill="{BAR_COLOUR}">'
            f"<title>{escape(bar.label)}: {escape(value_format(bar.value))}</title></rect>"
        )
        if index % label_every == 0:
            parts.append(_text(LEFT + (index + 0.5) * slot, baseline + 16, bar.label, anchor="middle"))
    return mark_safe("".join(parts) + "</svg>")  # every text above went through escape()


def _description(bars: Sequence[Bar], value_format: Callable[[float], str]) -> str:
    if not bars:
        return "No data in this range."
    shown = ", ".join(f"{bar.label}: {value_format(bar.value)}" for bar in bars[:MAX_LABELS])
    more = f", and {len(bars) - MAX_LABELS} more (see the table)" if len(bars) > MAX_LABELS else ""
    return shown + more


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{AXIS_COLOUR}"/>'


def _text(x: float, y: float, text: str, *, anchor: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="11" fill="{TEXT_COLOUR}">'
        f"{escape(_shortened(text))}</text>"
    )


def _shortened(text: str, limit: int = 18) -> str:
    """A label short enough to sit under its bar; the full one is in the bar's <title> and the table."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
