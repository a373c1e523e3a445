"""Bar charts drawn as inline SVG on the server: no JavaScript, no asset from anywhere else.

    day_chart(chart_id="orders", title="Orders placed per day", unit="orders",
              days=[(datetime.date(2026, 11, 1), 3), ...])
    ranking_chart(chart_id="top", title="Units ordered", unit="units", bars=[Bar("Red tee, M", 6)])

A chart is drawn in a viewBox of WIDTH user units and shown at the width of its column (CSS: width
100 %), so it scales with the page. Its text is FONT units high: on a 390 px phone the column is
about 360 px wide, so text is drawn at FONT * 360 / WIDTH, at least 10 px. Labels are placed from
an estimate of their width (CHAR_WIDTH of the font size a character, generous for digits and
system-ui): date labels are thinned to the smallest step (1, 2, 7 or 14 days back from the last
day, then the first of every 1, 2, 3, 6 or 12 months) at which no two meet, and a label that would
cross the chart's edge is not drawn. Values have
ticks at round numbers with gridlines, and every chart names its unit.

Every piece of text (title, labels, values) is escaped here, so a label holding HTML or script
is shown as text (S16). Each chart carries a <title> and <desc> for screen readers, and the page
shows the same numbers in a table.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape  # django.utils.html.escape's output, without its lazy-string wrapper (a year draws thousands)
from itertools import pairwise

from django.utils.safestring import SafeString, mark_safe

WIDTH = 480
FONT, TITLE_FONT = 14, 16
CHAR_WIDTH = 0.62  # of the font size: a wide estimate, so estimated labels never meet drawn ones
LABEL_GAP = 12  # the least room between two labels
TOP = 62  # room for the title (baseline 20), the unit (baseline 40) and half the top tick label
BAR_COLOUR, GRID_COLOUR, AXIS_COLOUR, TEXT_COLOUR = "#1f3a5f", "#e2e2e2", "#888", "#333"
MAX_DESCRIBED = 16  # bars read out in a chart's <desc>; the table has them all
GAPLESS_SLOT, WIDEST_BAR = 3, 48  # user units: see day_chart
DAY_STEPS = (1, 2, 7, 14)
MONTH_STEPS = (1, 2, 3, 6, 12)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # as %b writes them


@dataclass(frozen=True)
class Bar:
    label: str
    value: float


def day_chart(
    *,
    chart_id: str,
    title: str,
    unit: str,
    days: Sequence[tuple[datetime.date, float]],
    value_format: Callable[[float], str] = "{:,.0f}".format,
    whole: bool = True,
) -> SafeString:
    """Vertical bars, one a day, under ticks at round values; `whole`: the values are counts."""
    left, right, bottom, height = 64, 28, 40, 264
    plot_width, baseline = WIDTH - left - right, height - bottom
    ticks = round_ticks(max((value for _, value in days), default=0), whole=whole, most=5)
    top_value = ticks[-1]
    bars = [Bar(_day_text(day), value) for day, value in days]
    parts = _opening(chart_id, "chart-days", title, unit, bars, value_format, height)
    parts.append('<g class="axis axis-y">')
    for tick in ticks:
        y = baseline - tick / top_value * (baseline - TOP)
        parts.append(_line(left, y, WIDTH - right, y, GRID_COLOUR if tick else AXIS_COLOUR))
        parts.append(_text(left - 8, y + FONT * 0.35, _tick_text(tick, ticks), anchor="end"))
    parts.append("</g>")
    slot = plot_width / max(len(days), 1)
    # A gap of a fifth of the slot between bars, none once bars are thinner than GAPLESS_SLOT units
    # (a year's bars would otherwise stripe), and no bar wider than WIDEST_BAR (a day's bar alone).
    # Gapless bars overlap by a little, so that no seam of anti-aliasing shows between them.
    bar_width = min(slot * 0.8 if slot >= GAPLESS_SLOT else slot + 0.5, WIDEST_BAR)
    # One f-string a bar, the constant parts written once: a year is 365 bars a chart.
    scale, offset = (baseline - TOP) / top_value, left + (slot - bar_width) / 2
    after = f" {escape(unit)}</title></rect>"
    width_fill = f'width="{bar_width:.2f}" height="'
    for index, (day, value) in enumerate(days):
        bar_height = max(value, 0) * scale
        parts.append(
            f'<rect x="{offset + index * slot:.2f}" y="{baseline - bar_height:.2f}" {width_fill}{bar_height:.2f}" '
            f'fill="{BAR_COLOUR}"><title>{escape(_day_text(day, year=True))}: {escape(value_format(value))}{after}'
        )
    parts.append('<g class="axis axis-x">')
    for x, text in date_labels([day for day, _ in days], slot, left):
        parts.append(_text(x, baseline + FONT + 6, text, anchor="middle"))
    parts.append("</g>")
    return mark_safe("".join(parts) + "</svg>")  # every text above went through escape()


def ranking_chart(
    *,
    chart_id: str,
    title: str,
    unit: str,
    bars: Sequence[Bar],
    value_format: Callable[[float], str] = "{:,.0f}".format,
    whole: bool = True,
) -> SafeString:
    """Horizontal bars, their names on the left, each value at its bar's end, ticks below."""
    row = FONT * 2
    names = [_shortened(bar.label, limit=18) for bar in bars]
    left = min(max((text_width(name) for name in names), default=0), text_width("x" * 18)) + 12
    right = max((text_width(value_format(bar.value)) for bar in bars), default=0) + 12
    plot_width = WIDTH - left - right
    baseline = TOP + row * max(len(bars), 1)
    height = baseline + FONT * 2 + 8
    values = [bar.value for bar in bars]
    ticks = round_ticks(max(values, default=0), whole=whole, most=5)
    widest = max(text_width(_tick_text(tick, ticks)) for tick in ticks)
    while len(ticks) > 2 and plot_width / (len(ticks) - 1) < widest + LABEL_GAP:
        ticks = round_ticks(max(values, default=0), whole=whole, most=len(ticks) - 2)
    top_value = ticks[-1]
    parts = _opening(chart_id, "chart-ranking", title, unit, bars, value_format, height)
    parts.append('<g class="axis axis-x">')
    for tick in ticks:
        x = left + tick / top_value * plot_width
        parts.append(_line(x, TOP, x, baseline, GRID_COLOUR if tick else AXIS_COLOUR))
        parts.append(_text(x, baseline + FONT + 6, _tick_text(tick, ticks), anchor="middle"))
    parts.append("</g>")
    parts.append('<g class="axis axis-y">')
    for index, name in enumerate(names):
        parts.append(_text(left - 8, TOP + row * index + row / 2 + FONT * 0.35, name, anchor="end"))
    parts.append("</g>")
    parts.append('<g class="values">')
    for index, bar in enumerate(bars):
        length = max(bar.value, 0) / top_value * plot_width
        y = TOP + row * index + row * 0.15
        parts.append(
            f'<rect x="{left:.2f}" y="{y:.2f}" width="{length:.2f}" height="{row * 0.7:.2f}" fill="{BAR_COLOUR}">'
            f"<title>{escape(bar.label)}: {escape(value_format(bar.value))} {escape(unit)}</title></rect>"
        )
        parts.append(_text(left + length + 6, y + row * 0.35 + FONT * 0.35, value_format(bar.value), anchor="start"))
    parts.append("</g>")
    return mark_safe("".join(parts) + "</svg>")  # every text above went through escape()


def round_ticks(largest: float, *, whole: bool, most: int) -> list[float]:
    """Ticks from 0 at a round step (1, 2, 2.5 or 5 times a power of ten), at most `most` of them,
    the last at or above `largest`; whole numbers only when `whole`."""
    if largest <= 0:
        return [0, 1]
    for power in range(math.floor(math.log10(largest / most)) - 1, 30):
        for multiple in (1, 2, 2.5, 5):
            step = multiple * 10**power
            if whole and step != int(step):
                continue
            count = math.ceil(largest / step - 1e-9)
            if count + 1 <= most:
                return [round(step * n, 9) for n in range(count + 1)]
    raise ValueError(f"No round ticks for {largest}.")  # unreachable: a step of 10**29 fits any value


def date_labels(days: Sequence[datetime.date], slot: float, left: float) -> list[tuple[float, str]]:
    """(x, text) of the day labels of bars `slot` apart from `left`: every n-th day counted back
    from the last, or the first of every n-th month (the year written on the first label and on
    each January), at the smallest step at which no two labels meet; none crosses the chart's edge."""
    x_of = [left + (index + 0.5) * slot for index in range(len(days))]
    if len(days) == 1:
        return _inside([(x_of[0], _day_text(days[0], year=True))])
    for step in DAY_STEPS:
        labels = _inside([(x_of[i], _day_text(days[i])) for i in range(len(days) - 1, -1, -step)][::-1])
        if _apart(labels):
            return labels
    for step in MONTH_STEPS:
        # Kept or dropped at the edge as if each showed its year: the first one kept does.
        firsts = [
            (x_of[i], day)
            for i, day in enumerate(days)
            if day.day == 1
            and (day.year * 12 + day.month - 1) % step == 0
            and _within(x_of[i], _month_text(day, year=True))
        ]
        labels = [(x, _month_text(day, year=n == 0 or day.month == 1)) for n, (x, day) in enumerate(firsts)]
        if _apart(labels):
            return labels
    return []


def _inside(labels: list[tuple[float, str]]) -> list[tuple[float, str]]:
    return [(x, text) for x, text in labels if _within(x, text)]


def _within(x: float, text: str) -> bool:
    """Whether `text`, centred on `x`, stays inside the chart."""
    return text_width(text) / 2 <= x <= WIDTH - text_width(text) / 2


def _apart(labels: list[tuple[float, str]]) -> bool:
    """Whether each label, centred on its x, is LABEL_GAP or more from the next (in x order)."""
    return all(
        second_x - first_x >= (text_width(first) + text_width(second)) / 2 + LABEL_GAP
        for (first_x, first), (second_x, second) in pairwise(labels)
    )


def text_width(text: str, size: int = FONT) -> float:
    """The estimated drawn width of `text`, in user units."""
    return len(text) * size * CHAR_WIDTH


def _opening(
    chart_id: str, kind: str, title: str, unit: str, bars: Sequence[Bar], value_format, height: int
) -> list[str]:
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return [
        f'<svg id="{escape(chart_id)}" class="chart {kind}" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(_description(bars, value_format, unit))}</desc>',
        # The title again, drawn, for sighted readers (<title> is only a tooltip), and the unit.
        f'<text x="0" y="20" font-size="{TITLE_FONT}" font-weight="bold" fill="{TEXT_COLOUR}" aria-hidden="true">'
        f"{escape(title)}</text>",
        f'<text x="0" y="40" font-size="{FONT}" fill="{TEXT_COLOUR}" aria-hidden="true">{escape(unit)}</text>',
    ]


def _description(bars: Sequence[Bar], value_format: Callable[[float], str], unit: str) -> str:
    shown = ", ".join(f"{bar.label}: {value_format(bar.value)}" for bar in bars[:MAX_DESCRIBED])
    more = f", and {len(bars) - MAX_DESCRIBED} more (see the table)" if len(bars) > MAX_DESCRIBED else ""
    return f"In {unit}: {shown}{more}."


def _day_text(day: datetime.date, *, year: bool = False) -> str:
    """`4 Dec`, or `4 Dec 2026` (what `%d %b %Y` writes, without strftime's cost: a year is 365 days)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}" if year else f"{day.day} {MONTHS[day.month - 1]}"


def _month_text(day: datetime.date, *, year: bool) -> str:
    return f"{MONTHS[day.month - 1]} {day.year}" if year else MONTHS[day.month - 1]


def _tick_text(value: float, ticks: Sequence[float]) -> str:
    """A tick's value, as short as its step allows: 250k, 1.5M, 2,500, 0.25."""
    step = ticks[1] - ticks[0]
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if ticks[-1] >= 10 * size:
            return f"{value / size:,.{_decimals(step / size)}f}{suffix}"
    return f"{value:,.{_decimals(step)}f}"


def _decimals(step: float) -> int:
    """The decimals a tick step needs: 0 for 5, 1 for 0.5, 2 for 0.25."""
    written = f"{step:.6g}"
    return len(written.split(".")[1]) if "." in written else 0


def _line(x1: float, y1: float, x2: float, y2: float, colour: str) -> str:
    return f'<line x1="{x1:.2f}" y1="{y1:.2f}" x2="{x2:.2f}" y2="{y2:.2f}" stroke="{colour}"/>'


def _text(x: float, y: float, text: str, *, anchor: str) -> str:
    return (
        f'<text x="{x:.2f}" y="{y:.2f}" text-anchor="{anchor}" font-size="{FONT}" fill="{TEXT_COLOUR}">'
        f"{escape(text)}</text>"
    )


def _shortened(text: str, limit: int) -> str:
    """A name short enough for the chart's left column; the full one is in the bar's <title> and the table."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
