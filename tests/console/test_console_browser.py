"""The web console in a real browser: headless Chromium driven by Playwright, against the real app under uvicorn,
over the demo story's hub (five open exceptions, real runs).

Skipped, saying why, when /usr/bin/chromium or Playwright is missing, unless Q2C_REQUIRE_BROWSER=1 (CI), when
that fails the run instead. No browser is ever downloaded: Playwright drives the machine's own Chromium.
Each page's screenshot is saved to docs/console/<page>.png.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium); the console's browser tests need it"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]'); the console's browser tests need it"
    return None


_MISSING = _missing()
if _MISSING is not None:
    if os.environ.get("Q2C_REQUIRE_BROWSER") == "1":
        pytest.fail(f"Q2C_REQUIRE_BROWSER=1 but {_MISSING}", pytrace=False)
    pytest.skip(_MISSING, allow_module_level=True)

import uvicorn  # noqa: E402
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright  # noqa: E402

from q2c.domain.revenue import Period  # noqa: E402
from q2c.engine.replay import replay_payload  # noqa: E402
from q2c.entrypoints.demo import DemoWorld, run_scenario  # noqa: E402
from q2c.entrypoints.health_report import assess  # noqa: E402
from q2c.entrypoints.http_api import create_app  # noqa: E402
from q2c.entrypoints.wiring import endpoint_health, hub_routers  # noqa: E402
from q2c.store import audit  # noqa: E402
from q2c.store import drifts as drift_store  # noqa: E402
from q2c.store import exceptions as exception_store  # noqa: E402
from q2c.store import runs as run_store  # noqa: E402
from q2c.store import users as user_store  # noqa: E402
from q2c.store.sessions import console_sessions  # noqa: E402
from q2c.store.users import Role  # noqa: E402
from q2c.workflows import close_readiness, reports  # noqa: E402
from q2c.workflows.hub import Hub  # noqa: E402
from support.api_auth import make_caller  # noqa: E402


@dataclass
class Served:
    hub: Hub
    url: str
    viewer: tuple[str, str]
    operator: tuple[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo story's hub, and the whole app as `q2c serve` builds it, under uvicorn on a loopback port."""
    world = DemoWorld(tmp_path_factory.mktemp("console")).start()
    hub = world.hub()
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    try:
        run_scenario(world, hub, console=None)
        health_extra = lambda: endpoint_health(hub)  # noqa: E731
        app = create_app(hub.engine, webhook_secret="s", routers=hub_routers(hub), health_extra=health_extra,
                         hub=hub)  # as `q2c serve` builds it: the Finance and Leadership pages read through the hub
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True, name="console-server")
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield Served(hub, f"http://127.0.0.1:{port}", make_caller(hub.engine, Role.VIEWER, "vera"),
                     make_caller(hub.engine, Role.OPERATOR, "otto"))
    finally:
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(10)
        hub.engine.dispose()
        world.stop()


@pytest.fixture(scope="module")
def pw() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture
def browser(pw: Playwright, tmp_path: Path) -> Iterator[BrowserContext]:
    """A fresh Chromium profile per test: nobody is signed in."""
    context = pw.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
        viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def sign_in(context: BrowserContext, served: Served, token: str) -> Page:
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(served.url + "/console/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def csrf_of(page: Page) -> str:
    value = page.locator("header form.who input[name=csrf]").get_attribute("value")
    assert value
    return value


def open_exceptions(served: Served) -> list[exception_store.ExceptionRow]:
    with served.hub.engine.connect() as conn:
        return exception_store.search(conn, status=exception_store.OPEN)


def table_rows(page: Page, testid: str) -> list[list[str]]:
    rows = page.locator(f"[data-testid={testid}] tbody tr")
    return [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]


def test_a_wrong_token_cannot_sign_in(browser: BrowserContext, served: Served) -> None:
    page = browser.new_page()
    page.goto(served.url + "/console/login")
    shoot(page, "login")
    page.fill("#token", "q2c_" + "x" * 43)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("button[type=submit]")
    assert answer.value.status == 401
    assert "That token does not sign in: the token is not known" in page.inner_text("[role=alert]")
    assert not [c for c in browser.cookies() if c["name"] == "q2c_console"]
    page.goto(served.url + "/console/exceptions")
    assert page.url.startswith(served.url + "/console/login")


def test_the_pages_show_the_hubs_own_figures(browser: BrowserContext, served: Served) -> None:
    page = sign_in(browser, served, served.viewer[1])
    assert page.url == served.url + "/console/"
    assert page.inner_text("[data-testid=who]").startswith("vera")
    cookie = next(c for c in browser.cookies() if c["name"] == "q2c_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert served.viewer[1] not in cookie["value"]

    health = assess(served.hub.engine, lambda: endpoint_health(served.hub), overdue_after=timedelta(seconds=60))
    assert page.inner_text("[data-testid=status]") == health.status == "degraded"
    assert [li.strip() for li in page.locator("[data-testid=reasons] li").all_inner_texts()] == health.reasons
    assert {r[0]: int(r[1]) for r in table_rows(page, "queue")} == health.queue
    assert {r[0]: int(r[1]) for r in table_rows(page, "exceptions")} == health.exceptions
    endpoints = table_rows(page, "endpoints")
    assert [(r[0], r[1], r[2], int(r[3])) for r in endpoints] == [
        (e.system, e.endpoint, e.circuit, e.requests) for e in health.endpoints]
    assert len(endpoints) >= 3
    shoot(page, "health")

    page.click("header nav >> text=Exceptions")
    rows = open_exceptions(served)
    assert len(rows) >= 1
    listed = table_rows(page, "exception-list")
    assert [r[0] for r in listed] == [f"#{r.id}" for r in rows]
    by_rule = Counter(r.violation.rule for r in rows)
    assert {r[0]: int(r[1]) for r in table_rows(page, "by-rule")} == dict(by_rule)
    assert page.inner_text("[data-testid=tab-open] .count") == str(len(rows))
    shoot(page, "exceptions")

    rule = rows[0].violation.rule  # a rule filter narrows the list to that rule's exceptions
    page.fill("input[name=rule]", rule)
    page.click("form.filters button")
    assert [r[0] for r in table_rows(page, "exception-list")] == [f"#{r.id}" for r in rows
                                                                  if r.violation.rule == rule]
    page.fill("input[name=q]", rows[0].violation.record_id[-6:])  # a record id search
    page.click("form.filters button")
    assert f"#{rows[0].id}" in [r[0] for r in table_rows(page, "exception-list")]
    page.fill("input[name=rule]", "")
    page.fill("input[name=q]", "no-such-record-anywhere")
    page.click("form.filters button")
    assert table_rows(page, "exception-list") == [["No open exception matches."]]

    row = rows[0]
    page.goto(served.url + f"/console/exceptions/{row.id}")
    facts = dict(zip(page.locator("[data-testid=violation] dt").all_inner_texts(),
                     page.locator("[data-testid=violation] dd").all_inner_texts(), strict=True))
    assert facts["rule"] == row.violation.rule and facts["system"] == row.violation.system
    assert facts["message"] == row.violation.message and facts["action"] == row.violation.action
    assert json.loads(page.inner_text("[data-testid=payload]")) == json.loads(
        json.dumps(replay_payload(row), default=str))
    assert len(table_rows(page, "subjects")) == max(len(row.subjects), 1)
    assert page.locator("[data-testid=replay]").count() == 0  # a viewer sees no buttons
    assert page.locator("[data-testid=resolve]").count() == 0

    page.click("header nav >> text=Runs")
    with served.hub.engine.connect() as conn:
        runs = run_store.list_runs(conn, limit=100)
    assert len(runs) >= 3
    listed_runs = table_rows(page, "runs")
    assert [(int(r[0]), r[1], r[2]) for r in listed_runs] == [(r.id, r.kind, r.status) for r in runs]
    shoot(page, "runs")


def test_a_viewers_forged_post_is_refused(browser: BrowserContext, served: Served) -> None:
    page = sign_in(browser, served, served.viewer[1])
    target = open_exceptions(served)[0]
    for action in ("replay", "resolve", "ignore"):
        answer = page.request.post(served.url + f"/console/exceptions/{target.id}/{action}",
                                   form={"csrf": csrf_of(page), "reason": "forged"}, max_redirects=0)
        assert answer.status == 403, (action, answer.text())
        assert "needs the operator role" in answer.text()
    assert target.id in {r.id for r in open_exceptions(served)}


def test_a_form_without_its_csrf_token_is_refused(browser: BrowserContext, served: Served) -> None:
    page = sign_in(browser, served, served.operator[1])
    target = open_exceptions(served)[0]
    url = served.url + f"/console/exceptions/{target.id}/resolve"
    assert page.request.post(url, form={"reason": "no token"}, max_redirects=0).status == 403
    wrong = page.request.post(url, form={"csrf": "x" * 43, "reason": "wrong token"}, max_redirects=0)
    assert wrong.status == 403 and "CSRF token" in wrong.text()
    assert page.request.post(served.url + "/console/logout", form={}, max_redirects=0).status == 403
    assert target.id in {r.id for r in open_exceptions(served)}


def test_an_operator_resolves_an_exception_with_a_reason(browser: BrowserContext, served: Served) -> None:
    page = sign_in(browser, served, served.operator[1])
    target = open_exceptions(served)[-1]
    page.goto(served.url + f"/console/exceptions/{target.id}")
    assert page.locator("[data-testid=replay]").count() == 1
    shoot(page, "exception")
    page.fill("input[aria-label='reason to resolve']", "fixed in the ERP by hand")
    page.click("[data-testid=resolve]")
    page.wait_for_load_state()
    assert page.inner_text("[data-testid=done]") == "Resolved."
    assert page.inner_text("h1 [data-testid=status]") == "resolved"
    assert page.locator("[data-testid=resolve]").count() == 0

    page.goto(served.url + "/console/exceptions?status=resolved")
    assert f"#{target.id}" in [r[0] for r in table_rows(page, "exception-list")]
    page.goto(served.url + "/console/exceptions?status=open")
    assert f"#{target.id}" not in [r[0] for r in table_rows(page, "exception-list")]

    with served.hub.engine.connect() as conn:
        entry = audit.history(conn, record_id=target.violation.record_id, limit=1)[0]
        assert exception_store.get(conn, target.id).status == exception_store.RESOLVED  # type: ignore[union-attr]
        chain = audit.verify(conn)
    assert chain.ok, chain.reason  # the console's entries are links of the one chain
    assert (entry["actor"], entry["action"]) == ("otto", "resolve")
    assert entry["after"]["reason"] == "fixed in the ERP by hand"
    assert entry["before"] == {"exception": target.id, "rule": target.violation.rule}
    page.goto(served.url + f"/console/exceptions/{target.id}")
    assert table_rows(page, "history")[0][2:4] == ["otto", "resolve"]


def test_an_operator_replays_and_ignores(browser: BrowserContext, served: Served) -> None:
    page = sign_in(browser, served, served.operator[1])
    first, second = open_exceptions(served)[:2]
    page.goto(served.url + f"/console/exceptions/{first.id}")
    page.click("[data-testid=replay]")
    page.wait_for_load_state()
    assert page.inner_text("h1 [data-testid=status]") == "replayed"
    page.goto(served.url + f"/console/exceptions/{second.id}")
    page.click("[data-testid=ignore]")  # no reason: the browser does not send the form
    assert page.inner_text("h1 [data-testid=status]") == "open"
    empty = page.request.post(served.url + f"/console/exceptions/{second.id}/ignore",
                              form={"csrf": csrf_of(page), "reason": "  "}, max_redirects=0)
    assert empty.status == 303 and empty.headers["location"].endswith("?problem=reason")
    page.fill("input[aria-label='reason to ignore']", "a test deal, never billed")
    page.click("[data-testid=ignore]")
    page.wait_for_load_state()
    assert page.inner_text("h1 [data-testid=status]") == "ignored"
    with served.hub.engine.connect() as conn:
        trail = audit.history(conn, limit=50)
    mine = [(e["action"], e["before"]["exception"]) for e in trail if e["actor"] == "otto" and e["before"]]
    assert ("replay", first.id) in mine and ("ignore", second.id) in mine


def test_signing_out_ends_the_session(browser: BrowserContext, served: Served) -> None:
    page = sign_in(browser, served, served.viewer[1])
    cookie = next(c for c in browser.cookies() if c["name"] == "q2c_console")
    page.click("text=Sign out")
    page.wait_for_load_state()
    assert page.url == served.url + "/console/login?bye=1"
    assert "You are signed out." in page.inner_text("main")
    with served.hub.engine.connect() as conn:
        last = audit.history(conn, limit=1)[0]
    assert (last["actor"], last["action"], last["entity"]) == ("vera", "signed_out", "console_session")
    assert not [c for c in browser.cookies() if c["name"] == "q2c_console"]
    browser.add_cookies([dict(cookie)])  # type: ignore[list-item]  # the old id is worth nothing now
    page.goto(served.url + "/console/runs")
    assert page.url.startswith(served.url + "/console/login")


def test_a_revoked_token_or_disabled_user_ends_the_session_at_once(browser: BrowserContext, served: Served) -> None:
    name, token = make_caller(served.hub.engine, Role.OPERATOR, "olga")
    page = sign_in(browser, served, token)
    assert page.url == served.url + "/console/"
    engine = served.hub.engine
    with engine.begin() as conn:
        token_id = user_store.identify(conn, token).caller.token_id  # type: ignore[union-attr]
        user_store.revoke_token(conn, token_id, actor="cli:test")
    page.goto(served.url + "/console/exceptions")
    assert page.url == served.url + "/console/login?next=/console/exceptions&ended=1"
    assert "Your session has ended" in page.inner_text("main")
    page.fill("#token", token)  # the revoked token cannot sign in again either
    page.click("button[type=submit]")
    assert "That token does not sign in: the token has been revoked." in page.inner_text("[role=alert]")

    _, other = make_caller(engine, Role.VIEWER, "dora")
    page = sign_in(browser, served, other)
    assert page.url == served.url + "/console/"
    with engine.begin() as conn:
        user_store.set_active(conn, "dora", False, actor="cli:test")
    page.reload()
    assert page.url.startswith(served.url + "/console/login")
    with engine.connect() as conn:
        rows: list[Any] = list(conn.execute(sa.select(console_sessions)))
    assert all(len(r.session_hash) == 64 for r in rows)
    assert name == "olga"


def test_the_finance_page_shows_the_reports_figures(browser: BrowserContext, served: Served) -> None:
    """WIP, invoices, the waterfall, the roll-forward, changes, drifts and close readiness, as the reports say."""
    page = sign_in(browser, served, served.viewer[1])
    page.click("header nav >> text=Finance")
    assert page.url == served.url + "/console/finance"
    hub = served.hub
    current = Period.of(hub.today())
    # the demo's invoices: T&M 9,700.00 and the milestone 10,000.00, both posted in 2026-11
    invoices = table_rows(page, "invoices")
    assert invoices == [list(r) for r in reports.invoices_report(hub).grid().rows]
    assert ["2026-11", "USD", "posted", "2", "0", "19700.00", "0.00", "19700.00"] in invoices
    # the waterfall: 19,700.00 recognised for 2026-11 (9,700.00 as invoiced + the completed milestone)
    waterfall = table_rows(page, "waterfall-totals")
    assert waterfall == [list(r) for r in reports.waterfall_report(hub).totals_grid().rows]
    assert waterfall[0][0] == "USD" and "19700.00" in waterfall[0]
    header = page.locator("[data-testid=waterfall] thead th").all_inner_texts()
    assert "2026-11" in header
    assert table_rows(page, "wip") in ([["No approved time waits to be billed."]],
                                       [list(r) for r in reports.wip_report(hub, as_of=hub.today()).grid().rows])
    assert table_rows(page, "drafts") == [["No draft waits for review."]]  # both invoices were released
    assert table_rows(page, "changes") == [["No contract change recorded."]]
    # the remaining obligation: the milestone phase's 20,000.00 still to perform
    rpo = table_rows(page, "rpo")
    assert rpo == [list(r) for r in reports.rpo_report(hub, period=current).grid().rows]
    assert any("20000.00" in r for r in rpo)
    # close readiness per legal entity, this period and the one before, with each blocker
    for period in (current, current.previous()):
        ready = close_readiness.readiness(hub, "US01", period)
        row = page.locator(f"[data-testid=readiness-US01-{period.label}]")
        assert row.locator("td").nth(3).inner_text().strip() == f"{ready.score} %"
        for blocker in ready.blockers:
            assert blocker.detail in row.inner_text()
    # the reconciliation: the latest run is clean; an earlier one found the deleted time record, with its fix
    with hub.engine.connect() as conn:
        latest, *earlier = drift_store.runs_list(conn, limit=20)
        found = next((run, drift_store.of_run(conn, run.id)) for run in earlier if drift_store.of_run(conn, run.id))
    assert page.inner_text("[data-testid=drifts-latest-run]").startswith(
        f"Run #{latest.id} clean started {latest.started_at:%Y-%m-%d %H:%M:%S} UTC: "
        f"{latest.stats['matched']} of {latest.stats['compared']} records matched, 0 drifts")
    run, drifts = found
    assert page.inner_text("[data-testid=drifts-earlier-run]").startswith(f"Run #{run.id} drift")
    shown = table_rows(page, "drifts-earlier")
    assert [(r[0], r[1], r[2], r[4], r[5]) for r in shown] == [(d.pair, d.record_id, d.kind, d.cause, d.owner)
                                                               for d in drifts]
    assert shown[0][0] == "time" and "deleted" in shown[0][4]  # someone deleted one of Alice's time records
    assert drifts[0].fix is not None and str(drifts[0].fix["kind"]) in shown[0][6]  # the proposed fix
    assert page.locator("main button, main form[method=post]").count() == 0  # a viewer sees no action
    shoot(page, "finance")


def test_the_leadership_page_draws_its_charts(browser: BrowserContext, served: Served) -> None:
    """Every chart is an inline SVG with its series; no script, no inline style (the policy stays strict)."""
    page = sign_in(browser, served, served.viewer[1])
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    with page.expect_response(lambda r: r.url.endswith("/console/leadership")) as answer:
        page.click("header nav >> text=Leadership")
    policy = answer.value.headers["content-security-policy"]
    assert "script-src" not in policy and "unsafe-inline" not in policy and policy.startswith("default-src 'none'")
    html = page.content()
    assert "<script" not in html and "<style" not in html

    def chart(name: str) -> str:
        svg = page.locator(f"svg[data-chart={name}]")
        assert svg.count() == 1, name
        box = svg.bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 100, name  # drawn, and styled
        return svg.inner_html()

    revenue = chart("revenue-USD")
    assert "recognised" in revenue and "19,700.00" in revenue and "2026-11" in revenue
    billed = chart("billed-USD")
    assert "billed (invoices, net of credit notes)" in billed and "19,700.00" in billed
    backlog = chart("backlog-USD")
    assert "sold (contract value)" in backlog and "remaining obligations" in backlog and "20,000.00" in backlog
    delivery = chart("delivery")
    assert "approved and billed" in delivery and "58.50 h" in delivery  # Alice 5 x 8 h + Bob 6 + 6.5 + 6 h
    for name in ("kpi-shares", "kpi-setup", "kpi-lag", "kpi-recovery"):
        chart(name)
    assert "100.0 %" in chart("kpi-shares")  # the last reconciliation matched every record
    # the bars are coloured by the served style sheet, not by anything inline
    fill = page.eval_on_selector("svg[data-chart=revenue-USD] .series .rect", "e => getComputedStyle(e).fill")
    assert fill not in ("", "none", "rgb(0, 0, 0)")
    assert not [m for m in messages if "Content Security Policy" in m]
    assert page.locator("main button, main form[method=post]").count() == 0
    shoot(page, "leadership")
