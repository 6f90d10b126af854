"""Reporting dimensions on what q2c writes to NetSuite, through the real path: the three sandboxes over HTTP
and only `q2c` commands. The config gives offering IMPL class IMPL and department CONS, entity US01 location
US01; `references` maps each code to the sandbox's classification records, read back from its records here.
"""

from __future__ import annotations

import json
from typing import Any

from scenario_world import ScenarioWorld

from q2c.config import parse_config


def _with_dimensions(w: ScenarioWorld, *, offering_class: str = "IMPL") -> None:
    w.settings["service_offerings"][0]["dimensions"] = {"class": offering_class, "department": "CONS"}
    w.settings["legal_entities"][0]["dimensions"] = {"location": "US01"}
    w.settings["resources"][1]["dimensions"] = {"department": "PMO"}  # Bob's own department wins on his time
    w.write_config(w.config_path)


def _ids(w: ScenarioWorld) -> dict[str, dict[str, str]]:
    ns = w.netsuite.state
    return {rtype: {str(r.values["name"]): r.id for r in ns.records[rtype].values()}
            for rtype in ("classification", "department", "location")}


def _ref(value: Any) -> str | None:
    return None if value is None else str(value["id"] if isinstance(value, dict) else value)


def test_lines_carry_class_department_and_location(scenario: ScenarioWorld) -> None:
    """Alice (Consultant) logs 8 h BUILD on Nov 3 and Bob (Architect, department PMO) 6 h DESIGN on Nov 4, on
    the T&M phase; the November close bills them (8 x 150 + 6 x 200 = 2,400) and recognises them."""
    w = scenario
    _with_dimensions(w)
    ids = _ids(w)
    impl, cons, pmo, us01 = (ids["classification"]["IMPL"], ids["department"]["CONS"], ids["department"]["PMO"],
                             ids["location"]["US01"])
    assert w.q2c("sync").exit_code == 0
    w.approve(w.log_time("alice", "BUILD", "2026-11-03", "8"), w.log_time("bob", "DESIGN", "2026-11-04", "6"))
    assert w.q2c("sync").exit_code == 0
    closed = w.q2c("close", "--date", "2026-11-30")
    assert closed.exit_code == 0, closed.output
    ns = w.netsuite.state

    (order,) = ns.records["salesorder"].values()
    assert [(_ref(li.get("class")), _ref(li.get("department")), _ref(li.get("location")))
            for li in order.values["item"]] == [(impl, cons, us01), (impl, cons, us01)]

    by_employee = {ns.records["employee"][r.values["employee"]].values["email"]: r
                   for r in ns.records["timebill"].values()}
    assert {email: (_ref(t.values.get("class")), _ref(t.values.get("department")), _ref(t.values.get("location")))
            for email, t in by_employee.items()} == {
        "alice@q2c-demo.example": (impl, cons, us01), "bob@q2c-demo.example": (impl, pmo, us01)}

    (invoice,) = ns.records["invoice"].values()
    assert sum(li["amount"] for li in invoice.values["item"]) == 2400
    assert {(_ref(li.get("class")), _ref(li.get("location"))) for li in invoice.values["item"]} == {(impl, us01)}

    (journal,) = [r for r in ns.records["journalentry"].values() if "2026-11" in r.values["externalid"]]
    revenue_account = next(r.id for r in ns.records["account"].values() if r.values["acctnumber"] == "4000")
    revenue = [li for li in journal.values["line"] if _ref(li["account"]) == revenue_account]
    assert revenue and all(_ref(li.get("class")) == impl for li in revenue)
    assert all(_ref(li.get("location")) == us01 for li in journal.values["line"])
    assert w.open_rules() == []

    shown = w.q2c("reference", "show")
    assert shown.exit_code == 0, shown.output
    rows = {" ".join(line.replace("│", " ").split()) for line in shown.stdout.splitlines()}
    assert {"service offering IMPL IMPL CONS", "legal entity US01 US01",
            "resource bob@q2c-demo.example PMO"} <= rows
    as_json = w.q2c("reference", "show", "--json")
    assert {"applies_to": "service offering", "code": "IMPL", "codes": {"class": "IMPL", "department": "CONS"}} \
        in json.loads(as_json.stdout)["dimensions"]


def test_a_code_without_an_internal_id_is_refused_naming_the_key(scenario: ScenarioWorld) -> None:
    """Class ADVISORY is the firm's code but `references.classes` has no internal id for it: the config is
    refused on load, naming the key, and nothing reaches NetSuite."""
    w = scenario
    _with_dimensions(w, offering_class="ADVISORY")
    result = w.q2c("sync")
    assert result.exit_code != 0
    assert "service_offerings.0.dimensions.class" in result.output
    assert "'ADVISORY' has no NetSuite internal id" in result.output
    assert "systems.erp.references.classes" in result.output
    assert w.netsuite.state.count("salesorder") == 0
    try:
        parse_config(w.settings, base_dir=w.workdir)
    except ValueError as exc:
        assert "service_offerings.0.dimensions.class" in str(exc)
    else:
        raise AssertionError("the config was accepted")
