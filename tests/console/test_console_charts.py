"""The console's charts (pygal, scrubbed for the Content-Security-Policy) and its Finance and Leadership routes
without a browser: what a chart holds, the style sheet every chart needs, and the pages' refusals.

tests/console/test_console_browser.py opens both pages in Chromium over the demo story's figures.
"""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from q2c.entrypoints.console import charts
from q2c.entrypoints.http_api import create_app
from q2c.store.users import Role
from support.api_auth import make_caller


def test_a_chart_is_inline_svg_without_script_style_or_tooltip() -> None:
    svg = charts.bars("rev", "Revenue <USD>", ["2026-10", "<b>&x</b>"],
                      [charts.Series("recognised", [None, Decimal("19700.00")]),
                       charts.Series("billed", [Decimal("1.5"), 2])])
    assert svg.startswith('<svg data-chart="rev" role="img" aria-label="Revenue &lt;USD>" ')
    assert "<script" not in svg and "<style" not in svg and 'class="tooltip"' not in svg
    assert "style=" not in svg  # no inline style attribute either: the policy would refuse it
    assert "19,700.00" in svg and "1.50" in svg  # the values as labelled amounts
    assert "&lt;b&gt;&amp;x&lt;/b&gt;" in svg and "<b>" not in svg  # a label is text, never markup
    assert ">recognised<" in svg and ">billed<" in svg  # the legend names each series
    single = charts.lines("one", "Lag", ["2026-12-01"], [charts.Series("mean", [3.25])], formatter=str)
    assert "3.25" in single and "legends" not in single  # one series: the title names it, no legend


def test_the_style_sheet_is_pygals_own_scoped_to_every_chart() -> None:
    css = charts.stylesheet()
    assert ".pygal-chart .title" in css and "#chart-" not in css
    for i in range(len(charts.PALETTE)):  # every series index a page draws has its colour
        assert re.search(rf"\.color-{i}[^{{]*\{{[^}}]*{re.escape(charts.PALETTE[i])}", css, re.IGNORECASE), i


def _signed_in(db: Engine, role: Role) -> TestClient:
    client = TestClient(create_app(db, webhook_secret="s"), base_url="https://q2c.example")
    _, token = make_caller(db, role, "fin")
    page = client.get("/console/login")
    answer = client.post("/console/login", data={"csrf": page.cookies["q2c_console_login"], "token": token},
                         follow_redirects=False)
    assert answer.status_code == 303
    return client


def test_the_finance_pages_need_a_session_a_period_and_the_hub(db: Engine) -> None:
    anonymous = TestClient(create_app(db, webhook_secret="s"), base_url="https://q2c.example")
    for path in ("/console/finance", "/console/leadership"):
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == f"/console/login?next={path}"
    client = _signed_in(db, Role.VIEWER)
    wrong = client.get("/console/finance?period=2026-13")
    assert wrong.status_code == 400 and "period: &#39;2026-13&#39; is not a period" in wrong.text
    for path in ("/console/finance", "/console/leadership"):  # a console built without the hub says so
        answer = client.get(path)
        assert answer.status_code == 503 and "built without the hub" in answer.text
    home = client.get("/console/")
    assert 'href="/console/finance"' in home.text and 'href="/console/leadership"' in home.text
    css = client.get("/console/static/console.css").text
    assert ".pygal-chart" in css
