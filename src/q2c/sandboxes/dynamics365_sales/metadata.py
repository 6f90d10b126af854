"""Table definitions as the Web API serves them: `EntityDefinitions` (what Microsoft's client reads to
find entity set names, primary ids and choice labels), the `$metadata` CSDL document and the service
document."""

from __future__ import annotations

import re
import uuid
from typing import Any
from xml.sax.saxutils import escape

from q2c.sandboxes.dynamics365_sales.errors import OBJECT_DOES_NOT_EXIST, DataverseError
from q2c.sandboxes.dynamics365_sales.tables import TABLES, Column, Table
from q2c.sandboxes.dynamics365_sales.wire import ApiRequest, ApiResponse

_NAMESPACE = uuid.UUID("6f1c4f1e-9a55-4a53-8c1b-2d7f1f6b0a10")
_LOGICAL = re.compile(r"LogicalName\s+eq\s+'([^']*)'", re.IGNORECASE)
_ENTITY = re.compile(r"^EntityDefinitions(?:\((?:LogicalName='([^']+)'|([0-9a-fA-F-]{36}))\))?(?:/(.*))?$")
_TYPES = {"uniqueidentifier": ("Uniqueidentifier", "Edm.Guid"), "string": ("String", "Edm.String"),
          "memo": ("Memo", "Edm.String"), "integer": ("Integer", "Edm.Int32"), "bigint": ("BigInt", "Edm.Int64"),
          "decimal": ("Decimal", "Edm.Decimal"), "money": ("Money", "Edm.Decimal"),
          "boolean": ("Boolean", "Edm.Boolean"), "datetime": ("DateTime", "Edm.DateTimeOffset"),
          "dateonly": ("DateTime", "Edm.Date"), "picklist": ("Picklist", "Edm.Int32"),
          "state": ("State", "Edm.Int32"), "status": ("Status", "Edm.Int32"), "lookup": ("Lookup", "Edm.Guid"),
          "owner": ("Owner", "Edm.Guid")}


def metadata_id(*names: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(names)))


def _label(text: str) -> dict[str, Any]:
    localized = {"Label": text, "LanguageCode": 1033, "IsManaged": False}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def schema_name(table: Table) -> str:
    return "q2c_Milestone" if table.custom else table.label.replace(" ", "")


def entity_definition(table: Table) -> dict[str, Any]:
    return {"MetadataId": metadata_id(table.logical), "LogicalName": table.logical, "SchemaName": schema_name(table),
            "EntitySetName": table.entity_set, "PrimaryIdAttribute": table.primary_id,
            "PrimaryNameAttribute": table.primary_name, "ObjectTypeCode": table.object_type_code,
            "IsCustomEntity": table.custom, "ChangeTrackingEnabled": table.change_tracking,
            "DisplayName": _label(table.label), "LogicalCollectionName": table.entity_set}


def attribute_definition(table: Table, column: Column) -> dict[str, Any]:
    kind, _ = _TYPES[column.kind]
    out: dict[str, Any] = {"MetadataId": metadata_id(table.logical, column.name), "LogicalName": column.name,
                           "SchemaName": column.name, "AttributeType": kind,
                           "AttributeTypeName": {"Value": f"{kind}Type"}, "DisplayName": _label(column.label),
                           "IsCustomAttribute": column.name.startswith("q2c_"),
                           "IsValidForCreate": not column.read_only, "IsValidForUpdate": not column.read_only}
    if column.max_length is not None:
        out["MaxLength"] = column.max_length
    if column.targets:
        out["Targets"] = list(column.targets)
    return out


def option_set(table: Table, column: Column) -> dict[str, Any]:
    return {"MetadataId": metadata_id(table.logical, column.name, "options"),
            "Options": [{"Value": value, "Label": _label(text)} for value, text in column.options.items()]}


def entity_definitions(req: ApiRequest, path: str) -> ApiResponse:
    match = _ENTITY.match(path)
    if match is None:
        raise DataverseError(404, OBJECT_DOES_NOT_EXIST, f"Resource not found for the segment '{path}'.")
    logical, metadata, rest = match.group(1), match.group(2), match.group(3)
    context = f"{req.api}/$metadata#EntityDefinitions"
    if logical is None and metadata is None:
        tables = list(TABLES.values())
        wanted = _LOGICAL.search(req.params.get("$filter", ""))
        if wanted is not None:
            tables = [t for t in tables if t.logical == wanted.group(1).lower()]
        return ApiResponse.of_json(200, {"@odata.context": context,
                                         "value": [_project(entity_definition(t), req) for t in tables]})
    table = next((t for t in TABLES.values() if t.logical == (logical or "").lower()
                  or metadata_id(t.logical) == (metadata or "").lower()), None)
    if table is None:
        raise DataverseError(404, "0x80040217", f"Could not find an entity with name {logical or metadata}.")
    if not rest:
        return ApiResponse.of_json(200, {"@odata.context": context + "/$entity",
                                         **_project(entity_definition(table), req)})
    if rest == "Attributes":
        return ApiResponse.of_json(200, {"@odata.context": context + "/Attributes",
                                         "value": [_project(attribute_definition(table, c), req)
                                                   for c in table.columns]})
    if rest.startswith("Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"):
        picklists = [c for c in table.columns if c.kind == "picklist"]
        return ApiResponse.of_json(200, {"@odata.context": context + "/Attributes/PicklistAttributeMetadata",
                                         "value": [{**attribute_definition(table, c),
                                                    "OptionSet": option_set(table, c)} for c in picklists]})
    attribute = re.match(r"^Attributes\(LogicalName='([^']+)'\)$", rest)
    if attribute is not None and table.column(attribute.group(1)) is not None:
        column = table.column(attribute.group(1))
        assert column is not None
        return ApiResponse.of_json(200, {"@odata.context": context + "/Attributes/$entity",
                                         **attribute_definition(table, column)})
    if rest == "Keys":
        return ApiResponse.of_json(200, {"@odata.context": context + "/Keys", "value": [
            {"MetadataId": metadata_id(table.logical, *key), "LogicalName": "_".join(key) + "_key",
             "SchemaName": "_".join(key) + "_key", "KeyAttributes": list(key), "EntityKeyIndexStatus": "Active",
             "DisplayName": _label(" ".join(key) + " key")} for key in table.alternate_keys]})
    raise DataverseError(404, OBJECT_DOES_NOT_EXIST, f"Resource not found for the segment '{rest}'.")


def _project(definition: dict[str, Any], req: ApiRequest) -> dict[str, Any]:
    select = req.params.get("$select")
    if not select:
        return definition
    names = {n.strip() for n in select.split(",")}
    return {k: v for k, v in definition.items() if k in names or k == "MetadataId"}


def service_document(req: ApiRequest) -> ApiResponse:
    return ApiResponse.of_json(200, {"@odata.context": f"{req.api}/$metadata", "value": [
        {"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set} for t in TABLES.values()]})


def csdl() -> ApiResponse:
    """The CSDL of the tables served here (Dataverse's own is much larger; its shape is the same)."""
    types = []
    for table in TABLES.values():
        props = [f'<Key><PropertyRef Name="{table.primary_id}"/></Key>']
        for column in table.columns:
            edm = _TYPES[column.kind][1]
            props.append(f'<Property Name="{escape(column.value_name)}" Type="{edm}"/>')
            if column.navigation:
                props.append(f'<NavigationProperty Name="{column.navigation}" '
                             f'Type="mscrm.{column.targets[0]}" Partner="{column.name}"/>')
        for rel in table.collections:
            props.append(f'<NavigationProperty Name="{rel.name}" Type="Collection(mscrm.{rel.table})"/>')
        types.append(f'<EntityType Name="{table.logical}" BaseType="mscrm.crmbaseentity">{"".join(props)}'
                     '</EntityType>')
    sets = "".join(f'<EntitySet Name="{t.entity_set}" EntityType="Microsoft.Dynamics.CRM.{t.logical}"/>'
                   for t in TABLES.values())
    text = ('<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" '
            'xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>'
            '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
            '<EntityType Name="crmbaseentity" Abstract="true"/>' + "".join(types) +
            '<Action Name="WinOpportunity"><Parameter Name="OpportunityClose" Type="mscrm.opportunityclose" '
            'Nullable="false"/><Parameter Name="Status" Type="Edm.Int32" Nullable="false"/></Action>'
            f'<EntityContainer Name="System">{sets}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>')
    return ApiResponse(200, {"Content-Type": "application/xml", "OData-Version": "4.0"}, text.encode())
