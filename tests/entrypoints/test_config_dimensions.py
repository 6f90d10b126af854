"""The config's dimensions: the firm's codes per offering, entity and resource, each with a NetSuite id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_config_checks import folder, refused, settings, write  # noqa: F401  (folder is a fixture)

from q2c.config import load_config


def with_dimensions() -> dict[str, Any]:
    raw = settings()
    raw["systems"]["erp"]["references"].update(classes={"IMPL": "3"}, departments={"CONS": "6", "PMO": "7"},
                                               locations={"US01": "8"})
    raw["service_offerings"][0]["dimensions"] = {"class": "IMPL", "department": "CONS"}
    raw["legal_entities"][0]["dimensions"] = {"location": "US01"}
    raw["resources"] = [{"email": "Ada@Firm.example", "name": "Ada", "role": "Consultant",
                         "dimensions": {"department": "PMO"}}]
    return raw


def test_the_plan_holds_each_code_where_the_config_set_it(folder: Path) -> None:  # noqa: F811
    plan = load_config(write(folder, with_dimensions())).dimension_plan
    assert plan.codes(offering="IMPL", legal_entity="US01") == {"class": "IMPL", "department": "CONS",
                                                                "location": "US01"}
    assert plan.codes(offering="IMPL", legal_entity="US01", resource="ada@firm.example")["department"] == "PMO"
    assert plan.codes(legal_entity="UK01") == {}


def test_a_code_without_an_internal_id_is_refused_naming_the_key(folder: Path) -> None:  # noqa: F811
    raw = with_dimensions()
    raw["resources"][0]["dimensions"] = {"department": "OPS"}
    message = refused(folder, raw)
    assert "resources.0.dimensions.department: department 'OPS' has no NetSuite internal id; add it under " \
           "systems.erp.references.departments (known: CONS, PMO)" in message


def test_an_unknown_dimension_is_refused_naming_it(folder: Path) -> None:  # noqa: F811
    raw = with_dimensions()
    raw["legal_entities"][0]["dimensions"] = {"location": "US01", "region": "WEST"}
    assert "legal_entities.0.dimensions.region: unknown key" in refused(folder, raw)
