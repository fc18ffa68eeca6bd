"""Server-rendered SVG charts: bars with text labels, a <title> and a <desc>, no script.

Colours are presentation attributes (the CSP forbids inline styles), dark enough to
print in black and white; every value is also written as text next to its bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR = "#1d4f91"
LATE = "#b3261e"
INK = "#1e1e1e"
GRID = "#c8c8c8"
LAND = "#f4f1e8"
FONT = 'font-family="sans-serif" font-size="13"'


def _svg_open(chart_id: str, title: str, desc: str, width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
    )


def _number(value: float) -> str:
    text = f"{value:.1f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"
    return text.replace(".", ",")


def bar_chart(
    chart_id: str, title: str, desc: str, bars: Sequence[tuple[str, float]],
    width: int = 640, label_width: int = 230,
) -> Markup:
    """Horizontal bars, one per (label, value), labels on the left, values at the tip."""
    row, top = 26, 8
    height = top * 2 + row * max(len(bars), 1)
    biggest = max((value for _, value in bars), default=0) or 1
    room = width - label_width - 60
    parts = [_svg_open(chart_id, title, desc, width, height)]
    for index, (label, value) in enumerate(bars):
        y = top + index * row
        length = room * value / biggest
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(
            f'<g><text x="{label_width - 8}" y="{y + 17}" text-anchor="end" fill="{INK}" '
            f'{FONT}>{escape(short)}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{BAR}"><title>{escape(label)} : {_number(value)}</title></rect>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 17}" fill="{INK}" '
            f'{FONT}>{_number(value)}</text></g>'
        )
    if not bars:
        parts.append(f'<text x="8" y="{top + 17}" fill="{INK}" {FONT}>—</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(
    chart_id: str, title: str, desc: str, columns: Sequence[tuple[str, float]],
    width: int = 640, height: int = 240,
) -> Markup:
    """Vertical columns (a time series: weekly volumes), every label under its column
    when there is room, else one in every few."""
    left, bottom, top = 40, 36, 20
    plot_h = height - bottom - top
    slot = (width - left - 10) / max(len(columns), 1)
    biggest = max((value for _, value in columns), default=0) or 1
    every = max(1, round(48 / slot))
    parts = [
        _svg_open(chart_id, title, desc, width, height),
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        f'stroke="{INK}" stroke-width="1"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" fill="{INK}" {FONT}>'
        f'{_number(biggest)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" fill="{INK}" {FONT}>0</text>',
    ]
    for index, (label, value) in enumerate(columns):
        x = left + index * slot
        bar_h = plot_h * value / biggest
        parts.append(
            f'<g><rect x="{x + slot * 0.15:.1f}" y="{top + plot_h - bar_h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{bar_h:.1f}" fill="{BAR}">'
            f'<title>{escape(label)} : {_number(value)}</title></rect>'
        )
        if slot >= 22:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{top + plot_h - bar_h - 4:.1f}" '
                         f'text-anchor="middle" fill="{INK}" {FONT}>{_number(value)}</text>')
        if index % every == 0:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 18}" '
                         f'text-anchor="middle" fill="{INK}" {FONT}>{escape(label)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    href: str
    label: str
    late: bool


def marker_map(
    chart_id: str, title: str, desc: str, markers: Sequence[Marker], width: int, height: int,
    grid: int = 80,
) -> Markup:
    """A blank map (a neutral background and a grid) with one link per marker."""
    parts = [
        _svg_open(chart_id, title, desc, width, height),
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="{LAND}" '
        f'stroke="{GRID}"/>',
    ]
    parts += [f'<line x1="{x}" y1="0" x2="{x}" y2="{height}" stroke="{GRID}" '
              f'stroke-width="0.5"/>' for x in range(grid, width, grid)]
    parts += [f'<line x1="0" y1="{y}" x2="{width}" y2="{y}" stroke="{GRID}" '
              f'stroke-width="0.5"/>' for y in range(grid, height, grid)]
    parts.append(f'<text x="{width - 14}" y="22" text-anchor="middle" fill="{INK}" '
                 f'{FONT}>N</text><path d="M{width - 14} 26 l-5 12 h10 z" fill="{INK}"/>')
    for marker in markers:
        colour = LATE if marker.late else BAR
        shape = (
            f'<rect x="{marker.x - 6:.1f}" y="{marker.y - 6:.1f}" width="12" height="12" '
            f'fill="{colour}" stroke="#ffffff" stroke-width="2"/>' if marker.late else
            f'<circle cx="{marker.x:.1f}" cy="{marker.y:.1f}" r="7" fill="{colour}" '
            f'stroke="#ffffff" stroke-width="2"/>'
        )
        parts.append(f'<a href="{escape(marker.href)}" class="map-marker">'
                     f'<title>{escape(marker.label)}</title>{shape}</a>')
    parts.append("</svg>")
    return Markup("".join(parts))
