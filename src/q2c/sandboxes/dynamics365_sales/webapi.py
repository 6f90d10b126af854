"""Routing inside `/api/data/v9.2/`: entity sets and their keys, bulk actions, unbound actions
(`WinOpportunity`, `LoseOpportunity`), functions (`WhoAmI`), metadata and `$batch`."""

from __future__ import annotations

import re
from typing import Any

from q2c.sandboxes.dynamics365_sales.batch import run_batch
from q2c.sandboxes.dynamics365_sales.errors import DataverseError, bad_request
from q2c.sandboxes.dynamics365_sales.metadata import csdl, entity_definitions, service_document
from q2c.sandboxes.dynamics365_sales.org import DataverseOrg
from q2c.sandboxes.dynamics365_sales.payload import parse_key, values_from_body
from q2c.sandboxes.dynamics365_sales.records import Records
from q2c.sandboxes.dynamics365_sales.tables import BY_ENTITY_SET, STATUS_OF_STATE, TABLES
from q2c.sandboxes.dynamics365_sales.wire import ApiRequest, ApiResponse

_RESOURCE = re.compile(r"^([A-Za-z0-9_]+)(?:\((.*)\))?(?:/(.+))?$")
_BULK = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
BUSINESS_UNIT_ID = "5d1b2c3a-0000-4000-8000-0000000000b1"


class WebApi:
    def __init__(self, org: DataverseOrg, organization_id: str) -> None:
        self.org = org
        self.records = Records(org)
        self.organization_id = organization_id

    def dispatch(self, req: ApiRequest) -> ApiResponse:
        try:
            return self._route(req)
        except DataverseError as error:
            return ApiResponse.of_error(error)

    def _route(self, req: ApiRequest) -> ApiResponse:
        path, method = req.path, req.method
        if path == "":
            return service_document(req)
        if path == "$metadata":
            return csdl()
        if path == "$batch":
            self._method(req, "POST")
            return run_batch(self.org, req, self.dispatch)
        if path.startswith("EntityDefinitions"):
            self._method(req, "GET")
            return entity_definitions(req, path)
        if path in ("WhoAmI", "WhoAmI()"):
            self._method(req, "GET")
            return ApiResponse.of_json(200, {"@odata.context": f"{req.api}/$metadata#Microsoft.Dynamics.CRM."
                                             "WhoAmIResponse", "BusinessUnitId": BUSINESS_UNIT_ID,
                                             "UserId": req.actor, "OrganizationId": self.organization_id})
        if path in ("WinOpportunity", "LoseOpportunity"):
            self._method(req, "POST")
            return self._close(req, won=path == "WinOpportunity")
        match = _RESOURCE.match(path)
        table = BY_ENTITY_SET.get(match.group(1)) if match else None
        if match is None or table is None:
            raise DataverseError(404, "0x80060888", f"Resource not found for the segment '{path.split('/')[0]}'.")
        key_text, rest = match.group(2), match.group(3)
        if rest == "$count" and key_text is None:
            self._method(req, "GET")
            return self.records.count(table, req)
        if rest is not None:
            action = rest.removeprefix("Microsoft.Dynamics.CRM.")
            if key_text is None and action in _BULK:
                self._method(req, "POST")
                return self.records.bulk(table, action, req)
            raise DataverseError(404, "0x80060888", f"Resource not found for the segment '{rest}'.")
        if key_text is None:
            if method == "GET":
                return self.records.list(table, req)
            self._method(req, "POST")
            return self.records.create(table, req)
        key = parse_key(table, key_text)
        if method == "GET":
            return self.records.retrieve(table, key, req)
        if method in ("PATCH", "PUT"):
            return self.records.patch(table, key, req)
        if method == "DELETE":
            return self.records.delete(table, key, req)
        raise DataverseError(405, "0x80060888", f"The HTTP method '{method}' is not allowed on {path}.")

    def _method(self, req: ApiRequest, allowed: str) -> None:
        if req.method != allowed:
            raise DataverseError(405, "0x80060888", f"The HTTP method '{req.method}' is not allowed on {req.path}; "
                                 f"use {allowed}.")

    def _close(self, req: ApiRequest, *, won: bool) -> ApiResponse:
        body = req.json()
        close, status = body.get("OpportunityClose"), body.get("Status")
        if not isinstance(close, dict):
            raise bad_request("The parameter 'OpportunityClose' is required: an opportunityclose entity with "
                              "opportunityid@odata.bind.")
        if isinstance(status, bool) or not isinstance(status, int):
            raise bad_request("The parameter 'Status' is required: the opportunity's status reason (Edm.Int32).")
        close = {k: v for k, v in close.items() if k != "@odata.type"}
        values: dict[str, Any] = values_from_body(self.org, TABLES["opportunityclose"], close, req.references)
        opportunity_id = values.pop("opportunityid", None)
        if not opportunity_id:
            raise bad_request("OpportunityClose needs 'opportunityid@odata.bind' naming the opportunity.")
        if won:
            self.org.win(str(opportunity_id), status, values, actor=req.actor)
        else:
            self._lose(str(opportunity_id), status, values, req.actor)
        return ApiResponse.empty(204)

    def _lose(self, opportunity_id: str, status: int, close: dict[str, Any], actor: str) -> None:
        if status not in STATUS_OF_STATE["opportunity"][2]:
            raise bad_request(f"{status} is not a valid status code for state code OpportunityState.Lost on "
                              f"opportunity with Id {opportunity_id}.")
        with self.org.lock:
            opportunity = self.org.require("opportunity", opportunity_id)
            if opportunity["statecode"] != 0:
                raise bad_request(f"The opportunity {opportunity_id} is already closed.")
            when = close.get("actualend") or self.org.clock().date()
            self.org.create(TABLES["opportunityclose"], {**close, "opportunityid": opportunity_id,
                                                          "actualend": when}, actor=actor)
            self.org.update(TABLES["opportunity"], opportunity_id, {"statecode": 2, "statuscode": status,
                                                                    "actualclosedate": when}, actor=actor,
                            system=True)
