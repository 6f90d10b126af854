"""Describe: what the org says about its objects (`GET /sobjects/`, `/sobjects/{Type}`, `.../describe`).

Shapes as in the REST API Developer Guide (Describe Global, sObject Basic Information, sObject
Describe): each object's name, label, keyPrefix, custom, the CRUD flags and its URLs; a describe
adds the fields (type, length, externalId, idLookup, createable, updateable, nillable,
referenceTo, relationshipName, picklistValues) and the child relationships. What is described is
the org's `Catalog`: a field the integration user may not read is not listed at all, and a
read-only one is listed with createable and updateable false (REST API Developer Guide, "sObject
Describe"; Salesforce Help, "Field-Level Security").
"""

from __future__ import annotations

from typing import Any

from q2c.sandboxes.salesforce.catalog import Catalog
from q2c.sandboxes.salesforce.schema import CHILD_RELATIONSHIPS, FieldSpec, SObjectSpec


def object_summary(spec: SObjectSpec, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{spec.name}"
    return {"name": spec.name, "label": spec.label, "keyPrefix": spec.key_prefix, "custom": spec.custom,
            "createable": spec.createable, "updateable": spec.updateable, "deletable": spec.deletable,
            "queryable": True,
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}}


def global_describe(catalog: Catalog, version: str) -> dict[str, Any]:
    return {"encoding": "UTF-8", "maxBatchSize": 200,
            "sobjects": [object_summary(spec, version) for spec in catalog.objects.values()]}


def _field(f: FieldSpec) -> dict[str, Any]:
    return {
        "name": f.name, "label": f.label or f.name, "type": f.type, "length": f.length, "custom": f.custom,
        "externalId": f.external_id, "idLookup": f.external_id or f.name == "Id", "unique": False,
        "createable": f.createable, "updateable": f.updateable,
        "nillable": not f.required and f.type != "boolean" and f.name != "Id",
        "defaultedOnCreate": f.default is not None or f.type == "boolean",
        "referenceTo": [f.reference_to] if f.reference_to else [],
        "relationshipName": f.relationship_name,
        "picklistValues": [{"value": v, "label": v, "active": True, "defaultValue": v == f.default, "validFor": None}
                           for v in f.picklist],
        "restrictedPicklist": bool(f.picklist),
    }


def describe(spec: SObjectSpec, version: str) -> dict[str, Any]:
    children = [{"childSObject": child, "field": lookup, "relationshipName": name, "cascadeDelete": True}
                for child, lookup, name in CHILD_RELATIONSHIPS.get(spec.name, ())]
    return {**object_summary(spec, version), "fields": [_field(f) for f in spec.fields.values()],
            "childRelationships": children}
