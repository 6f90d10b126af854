"""Charts for the console's pages: SVG drawn on the server by pygal, put inline in the page, with no script.

pygal writes, inside each SVG, a `<style>` element scoped to the chart's random id, a `<script>` with its
configuration and a hidden tooltip group for its JavaScript. The console's Content-Security-Policy allows
neither inline styles nor any script, so each chart is scrubbed of all three (`_scrub`, a pygal XML filter),
and the style sheet every chart needs is rendered once from pygal itself, scoped to the class every chart
carries (`.pygal-chart`), and served with the console's own style sheet (`stylesheet`). The policy stays as
strict as it was. Hovering a bar or point still names its value: pygal gives each one an SVG `<title>`, which
the browser shows without any script.

Amounts are Decimal in q2c; they are drawn as floats (a chart's geometry) but labelled from the Decimal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup
from pygal.style import Style  # type: ignore[import-untyped]

WIDTH, HEIGHT = 900, 360
SMALL = (560, 300)  # the KPI charts, two side by side
PALETTE = ("#1f5fbf", "#1c7c3c", "#a86200", "#7a3fb0", "#b3261e", "#2a8a8a", "#5b6475", "#c2185b")
STYLE = Style(background="transparent", plot_background="#ffffff", foreground="#1d2330",
              foreground_strong="#1d2330", foreground_subtle="#d9dde5", opacity=".85", opacity_hover="1",
              font_family='system-ui, -apple-system, "Segoe UI", sans-serif', title_font_size=15,
              label_font_size=12, major_label_font_size=12, legend_font_size=12, value_font_size=11,
              tooltip_font_size=12, no_data_font_size=24, guide_stroke_color="#d9dde5",
              major_guide_stroke_color="#c4c9d2", colors=PALETTE)
_CHART_ID = re.compile(r"#chart-[0-9a-f-]{36}")


@dataclass(frozen=True)
class Series:
    """One named series: a value per label (None: nothing that day or period)."""

    name: str
    values: Sequence[Decimal | float | int | None]


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _scrub(root: Any) -> Any:
    """Take out what the console's policy would refuse: the inline style and script, and the tooltip group
    that only pygal's script shows."""
    doomed = [el for el in root.iter() if _local(el.tag) in ("style", "script")
              or (_local(el.tag) == "g" and "tooltip" in (el.get("class") or "").split())]
    for el in doomed:
        parent = el.getparent() if hasattr(el, "getparent") else None
        if parent is None:
            parent = next(p for p in root.iter() if el in list(p))
        parent.remove(el)
    return root


def _common(title: str, labels: Sequence[str], formatter: Callable[[float], str],
            size: tuple[int, int] = (WIDTH, HEIGHT)) -> dict[str, Any]:
    return {"title": title, "x_labels": list(labels), "style": STYLE, "width": size[0], "height": size[1],
            "js": [], "disable_xml_declaration": True, "explicit_size": False, "value_formatter": formatter,
            "legend_at_bottom": True, "legend_at_bottom_columns": 2, "print_values": False, "margin": 12,
            "truncate_legend": -1, "truncate_label": -1, "no_data_text": "nothing recorded yet"}


def _render(chart: Any, series: Sequence[Series], test_id: str, title: str) -> Markup:
    chart.show_legend = len(series) > 1  # one series: the title names it
    for s in series:
        chart.add(s.name, [None if v is None else float(v) for v in s.values])
    chart.add_xml_filter(_scrub)
    svg = str(chart.render(is_unicode=True))
    # A hook for the page's tests and its readers: which chart this is.
    svg = svg.replace("<svg ", f'<svg data-chart="{test_id}" role="img" aria-label="{_attr(title)}" ', 1)
    return Markup(svg)  # pygal serialises its tree: every label and value it writes is escaped


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def money(value: float) -> str:
    return f"{value:,.2f}"


def bars(test_id: str, title: str, labels: Sequence[str], series: Sequence[Series], *, stacked: bool = False,
         formatter: Callable[[float], str] = money, horizontal: bool = False) -> Markup:
    """A bar chart, one group per label; `stacked` piles the series up (parts of one whole)."""
    kind = (pygal.HorizontalStackedBar if horizontal else pygal.StackedBar) if stacked else \
        (pygal.HorizontalBar if horizontal else pygal.Bar)
    return _render(kind(**_common(title, labels, formatter)), series, test_id, title)


def lines(test_id: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
          formatter: Callable[[float], str] = money) -> Markup:
    """A small line chart over days or periods; a None leaves a gap."""
    config = {**_common(title, labels, formatter, SMALL), "legend_at_bottom_columns": 1}
    chart = pygal.Line(**config, show_dots=True, dots_size=4, allow_interruptions=True,
                       x_label_rotation=0 if len(labels) <= 12 else 30)
    return _render(chart, series, test_id, title)


def stylesheet() -> str:
    """The CSS every chart needs, from pygal's own templates for STYLE, scoped to `.pygal-chart` instead of one
    chart's id. Rendered for as many series as the palette has colours, so every series index is styled."""
    captured: list[str] = []

    def keep(root: Any) -> Any:
        captured.extend(el.text or "" for el in root.iter() if _local(el.tag) == "style")
        return root

    chart = pygal.Bar(style=STYLE, js=[], disable_xml_declaration=True)
    for i in range(len(PALETTE)):
        chart.add(f"s{i}", [1])
    chart.add_xml_filter(keep)
    chart.render(is_unicode=True)
    return "\n/* charts (pygal) */\n" + _CHART_ID.sub(".pygal-chart", "\n".join(captured)) + "\n"
