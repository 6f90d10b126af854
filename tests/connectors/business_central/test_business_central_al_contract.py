"""The AL extension's API pages declare every field the connector reads and writes, and the connector writes
none the pages keep read-only: the .al source is parsed, as a partner's app would be compiled from it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from business_central_fixtures import timebill

import q2c.connectors.business_central as bc
from q2c.connectors.business_central.erp import JOB_TASK_READS
from q2c.connectors.business_central.mapping import task_body
from q2c.connectors.business_central.reads import JOB_READS, TIME_ENTRY_READS
from q2c.connectors.business_central.time_entries import _COMPARED, time_entry_body
from q2c.domain.model import Project, Task

AL = Path(bc.__file__).parent / "al"
_PAGE = re.compile(r"^page\s+(\d+)\s+\"([^\"]+)\"", re.MULTILINE)
_PROP = re.compile(r"^\s*(\w+)\s*=\s*'?([^';]+)'?;", re.MULTILINE)
_FIELD = re.compile(r"field\((\w+);\s*Rec\.(\"[^\"]+\"|\w+)\)\s*\{(.*?)\}", re.DOTALL)


@dataclass(frozen=True)
class ApiPage:
    number: int
    properties: dict[str, str]
    fields: dict[str, bool]  # API field name -> editable
    sources: dict[str, str]  # API field name -> table field


def api_pages() -> dict[str, ApiPage]:
    pages = {}
    for path in sorted(AL.glob("*.Page.al")):
        source = path.read_text()
        head = _PAGE.search(source)
        assert head is not None, path
        layout = source.index("layout")
        props = dict(_PROP.findall(source[:layout]))
        fields = {name: "Editable = false" not in body for name, _, body in _FIELD.findall(source)}
        if props.get("Editable") == "false":
            fields = dict.fromkeys(fields, False)
        sources = {name: table.strip('"') for name, table, _ in _FIELD.findall(source)}
        pages[props["EntitySetName"]] = ApiPage(int(head.group(1)), props, fields, sources)
    return pages


def test_business_central_al_pages_are_the_extension_the_connector_addresses() -> None:
    pages = api_pages()
    assert set(pages) == {"jobTasks", "timeEntries", "jobs"}
    app = json.loads((AL / "app.json").read_text())
    assert app["publisher"] == "q2c"
    for page in pages.values():
        assert page.properties["PageType"] == "API"
        assert (page.properties["APIPublisher"], page.properties["APIGroup"], page.properties["APIVersion"]) == (
            "q2c", "integration", "v1.0")
        assert page.properties["ODataKeyFields"] == "SystemId" and page.sources["id"] == "SystemId"
        low, high = app["idRanges"][0]["from"], app["idRanges"][0]["to"]
        assert low <= page.number <= high
    settings = bc.BusinessCentralSettings(tenant_id="5d3f6b1e-7a4c-4a8e-9f3b-2c1d0e9f8a7b", client_id="app",
                                          client_secret="s", companies={"US01": "5d3f6b1e-7a4c-4a8e-9f3b-2c1d0e9f8a7c"})
    assert settings.extension_base.endswith("/api/q2c/integration/v1.0")


@pytest.mark.parametrize("entity_set", ["timeEntries", "jobTasks", "jobs"])
def test_business_central_connector_writes_only_editable_fields_the_pages_declare(entity_set: str) -> None:
    page = api_pages()[entity_set]
    if entity_set == "timeEntries":
        body, _ = time_entry_body(timebill(), employee_number="E0001")
        written = set(body) | set(_COMPARED)
    elif entity_set == "jobs":
        written = {"externalId"}  # BusinessCentralErp._mark_job
    else:
        project = Project(id="P-1", contract_id="C-1", customer_id="A-1", name="Hooli")
        written = set(task_body(Task(id="P-1-DESIGN", project_id="P-1", code="DESIGN", name="Design"), project))
    assert written <= set(page.fields), written - set(page.fields)
    assert [f for f in written if not page.fields[f]] == []


@pytest.mark.parametrize(("entity_set", "reads"), [("timeEntries", TIME_ENTRY_READS), ("jobs", JOB_READS),
                                                   ("jobTasks", JOB_TASK_READS)])
def test_business_central_connector_reads_only_fields_the_pages_declare(entity_set: str,
                                                                        reads: tuple[str, ...]) -> None:
    page = api_pages()[entity_set]
    assert set(reads) <= set(page.fields), set(reads) - set(page.fields)


def test_business_central_time_entry_table_holds_what_the_page_exposes() -> None:
    table = (AL / "Q2CTimeEntry.Table.al").read_text()
    declared = set(re.findall(r"field\(\d+;\s*(\"[^\"]+\"|\w+);", table))
    page = api_pages()["timeEntries"]
    system = {"SystemId", "SystemModifiedAt"}
    wanted = {f'"{s}"' if " " in s else s for s in page.sources.values() if s not in system}
    assert wanted <= declared, wanted - declared
    assert 'Text[50]' in table.split('"External Id"', 1)[1].split("\n", 1)[0]  # externalId is Text[50]


def test_business_central_job_table_extension_holds_q2c_s_id_the_jobs_page_writes() -> None:
    ext = (AL / "Q2CJob.TableExt.al").read_text()
    assert re.search(r'^tableextension\s+\d+\s+"Q2C Job"\s+extends\s+Job\b', ext, re.MULTILINE)
    assert re.search(r'field\(50100;\s*"Q2C Id";\s*Text\[100\]\)', ext)
    assert api_pages()["jobs"].sources["externalId"] == "Q2C Id"
