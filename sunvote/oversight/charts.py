"""Charts drawn on the server as inline SVG: no script, no CDN, readable without JavaScript."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value and a CSS class naming its colour."""

    label: str
    value: int
    css: str = "bar"


#: The drawing's own units; the SVG scales to its container's width (viewBox).
#: Sized so that on a phone (about 330 px of card) the labels still read at about 11 px.
WIDTH = 420
LABEL_WIDTH = 150
ROW = 28


def bar_chart(bars: Sequence[Bar], title: str) -> Markup:
    """A horizontal bar chart of ``bars`` with ``title`` as its accessible name; each bar shows
    its value at its end. Labels and title are escaped."""
    height = max(1, len(bars)) * ROW + 8
    biggest = max([b.value for b in bars] + [1])
    room = WIDTH - LABEL_WIDTH - 40
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
             f"<title>{escape(title)}</title>"]
    for i, bar in enumerate(bars):
        y = 4 + i * ROW
        length = round(room * bar.value / biggest) if bar.value else 0
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 19}" text-anchor="end" class="chart-label">'
            f"{escape(bar.label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{max(length, 1)}" height="{ROW - 10}" '
            f'class="{escape(bar.css)}"/>'
            f'<text x="{LABEL_WIDTH + max(length, 1) + 6}" y="{y + 19}" class="chart-value">'
            f"{bar.value}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
