"""Entity-set requests: list and retrieve with query options, create (`POST`), update and upsert
(`PATCH`, by primary or alternate key, with `If-Match`/`If-None-Match`), delete, and the
`CreateMultiple`/`UpdateMultiple`/`UpsertMultiple` bulk actions Microsoft's client sends."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from q2c.sandboxes.dynamics365_sales.changes import track_changes
from q2c.sandboxes.dynamics365_sales.errors import DUPLICATE_RECORD, ETAG_MISMATCH, DataverseError, bad_request
from q2c.sandboxes.dynamics365_sales.odata_filter import syntax_error
from q2c.sandboxes.dynamics365_sales.options import MAX_PAGE_SIZE, parse_options, preferences
from q2c.sandboxes.dynamics365_sales.org import DataverseOrg, Row
from q2c.sandboxes.dynamics365_sales.payload import Key, find, find_required, parse_key, values_from_body
from q2c.sandboxes.dynamics365_sales.query import Renderer, context_select, etag, next_link, page, select_rows
from q2c.sandboxes.dynamics365_sales.tables import Table
from q2c.sandboxes.dynamics365_sales.wire import ApiRequest, ApiResponse

_ODATA_ID = re.compile(r"(?:^|/)([A-Za-z0-9_]+)\((.+)\)$")


class Records:
    def __init__(self, org: DataverseOrg) -> None:
        self.org = org

    # --- reads -----------------------------------------------------------------------------------
    def list(self, table: Table, req: ApiRequest) -> ApiResponse:
        prefs = preferences(req.headers.get("prefer"))
        options = parse_options(table, req.params)
        tracking_page = 'istracking="True"' in unquote(options.skiptoken or "")
        if prefs.track_changes or options.deltatoken is not None or tracking_page:
            return track_changes(self.org, table, req, options, prefs)
        if prefs.max_page_size is not None:
            options.top = None  # "If you include both, $top is ignored" (documented)
        rows = select_rows(self.org.table_rows(table.logical), options, table, self.org)
        chunk = page(rows, table, prefs.max_page_size or MAX_PAGE_SIZE, options.skiptoken)
        renderer = Renderer(self.org, prefs)
        body: dict[str, Any] = {"@odata.context": f"{req.api}/$metadata#{table.entity_set}{context_select(options)}"}
        if options.count:
            body["@odata.count"] = min(chunk.count, MAX_PAGE_SIZE)
        if prefs.wants("Microsoft.Dynamics.CRM.totalrecordcount"):
            body["@Microsoft.Dynamics.CRM.totalrecordcount"] = min(chunk.count, MAX_PAGE_SIZE) if options.count else -1
        if prefs.wants("Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"):
            body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = chunk.count > MAX_PAGE_SIZE
        body["value"] = [renderer.row(table, r, options) for r in chunk.rows]
        if chunk.next_cookie is not None:
            body["@odata.nextLink"] = next_link(f"{req.api}/{table.entity_set}", req.params, chunk.next_cookie)
        applied = prefs.applied()
        return ApiResponse.of_json(200, body, {"Preference-Applied": applied} if applied else {})

    def count(self, table: Table, req: ApiRequest) -> ApiResponse:
        """`GET accounts/$count`: the number alone, as text/plain (up to 5,000)."""
        options = parse_options(table, {k: v for k, v in req.params.items() if k.lower() == "$filter"})
        rows = select_rows(self.org.table_rows(table.logical), options, table, self.org)
        return ApiResponse(200, {"Content-Type": "text/plain", "OData-Version": "4.0"},
                           str(min(len(rows), MAX_PAGE_SIZE)).encode())

    def retrieve(self, table: Table, key: Key, req: ApiRequest) -> ApiResponse:
        prefs = preferences(req.headers.get("prefer"))
        options = parse_options(table, req.params)
        if options.filter is not None or options.orderby or options.top is not None:
            raise syntax_error("$filter, $orderby and $top apply to collections, not to a single record.")
        row = find_required(self.org, table, key)
        none_match = req.headers.get("if-none-match")
        # never 304 with $expand or annotations: related rows could have changed unseen (documented)
        if none_match is not None and none_match == etag(row) and not options.expand and prefs.annotations is None:
            return ApiResponse.empty(304)
        body = {"@odata.context": f"{req.api}/$metadata#{table.entity_set}{context_select(options)}/$entity",
                **Renderer(self.org, prefs).row(table, row, options)}
        applied = prefs.applied()
        return ApiResponse.of_json(200, body, {"ETag": etag(row), **({"Preference-Applied": applied}
                                                                    if applied else {})})

    # --- writes ----------------------------------------------------------------------------------
    def create(self, table: Table, req: ApiRequest) -> ApiResponse:
        body = req.json()
        values = values_from_body(self.org, table, body, req.references)  # a given primary id is checked too
        row = self.org.create(table, values, actor=req.actor)
        return self._written(table, row, req, 201)

    def patch(self, table: Table, key: Key, req: ApiRequest) -> ApiResponse:
        """Update, or upsert: a PATCH to a missing key creates it unless `If-Match` says update only."""
        body = req.json()
        values = values_from_body(self.org, table, body, req.references)
        if_match, if_none = req.headers.get("if-match"), req.headers.get("if-none-match")
        existing = find(self.org, table, key)
        if existing is None:
            if if_match is not None:
                find_required(self.org, table, key)  # If-Match on a missing row: 404, nothing created
            if isinstance(key, str):
                values[table.primary_id] = key
            else:
                for name, value in key.items():
                    if name in values and values[name] != value:
                        raise bad_request(f"The value of {table.logical}.{name} in the body differs from the "
                                          "alternate key in the URL.")
                    values[name] = value
            row = self.org.create(table, values, actor=req.actor)
            return self._written(table, row, req, 201)
        if if_none == "*":
            raise DataverseError(412, DUPLICATE_RECORD, "A record with matching key values already exists.")
        if if_match is not None and if_match != "*" and if_match != etag(existing):
            raise DataverseError(412, ETAG_MISMATCH, "The version of the existing record doesn't match the "
                                 "RowVersion property provided.")
        row = self.org.update(table, existing[table.primary_id], values, actor=req.actor)
        return self._written(table, row, req, 200)

    def delete(self, table: Table, key: Key, req: ApiRequest) -> ApiResponse:
        row = find_required(self.org, table, key)
        if_match = req.headers.get("if-match")
        if if_match is not None and if_match != "*" and if_match != etag(row):
            raise DataverseError(412, ETAG_MISMATCH, "The version of the existing record doesn't match the "
                                 "RowVersion property provided.")
        self.org.delete(table, row[table.primary_id], actor=req.actor)
        return ApiResponse.empty(204)

    def bulk(self, table: Table, action: str, req: ApiRequest) -> ApiResponse:
        """CreateMultiple / UpdateMultiple / UpsertMultiple: `{"Targets": [...]}`, all or nothing."""
        targets = req.json().get("Targets")
        if not isinstance(targets, list) or not targets:
            raise bad_request(f"{action} needs a non-empty 'Targets' collection.")
        ids: list[str] = []
        with self.org.transaction():
            for target in targets:
                if not isinstance(target, dict):
                    raise bad_request(f"Every item of {action}'s Targets must be an object.")
                if target.get("@odata.type") != f"Microsoft.Dynamics.CRM.{table.logical}":
                    raise bad_request(f"Every item of {action}'s Targets needs \"@odata.type\": "
                                      f"\"Microsoft.Dynamics.CRM.{table.logical}\".")
                values = values_from_body(self.org, table, target, req.references)
                given = target.get(table.primary_id)
                if action == "CreateMultiple":
                    row = self.org.create(table, {**values, **({table.primary_id: given} if given else {})},
                                          actor=req.actor)
                elif action == "UpdateMultiple":
                    if not given:
                        raise bad_request(f"UpdateMultiple needs {table.primary_id} in every target.")
                    row = self.org.update(table, str(find_required(self.org, table, str(given).lower())
                                                     [table.primary_id]), values, actor=req.actor)
                else:
                    row = self._upsert_target(table, values, given, target.get("@odata.id"), req.actor)
                ids.append(str(row[table.primary_id]))
        if action == "CreateMultiple":
            return ApiResponse.of_json(200, {"@odata.context": f"{req.api}/$metadata#Microsoft.Dynamics.CRM."
                                             "CreateMultipleResponse", "Ids": ids})
        return ApiResponse.empty(204)  # UpsertMultiple too: "returns 204 NoContent" (documented)

    def _upsert_target(self, table: Table, values: Row, given: Any, odata_id: Any, actor: str) -> Row:
        """One UpsertMultiple target, named by its primary key, its `@odata.id` (`accounts(accountnumber='X')`)
        or alternate key values in the body."""
        key: Key | None = str(given).lower() if given else None
        if key is None and isinstance(odata_id, str):
            match = _ODATA_ID.search(odata_id)
            if match is None or match.group(1) != table.entity_set:
                raise bad_request(f"The @odata.id '{odata_id}' of an UpsertMultiple target does not name a "
                                  f"{table.logical} record.")
            key = parse_key(table, match.group(2))
        if key is None:
            key = next(({n: values[n] for n in k} for k in table.alternate_keys
                        if all(values.get(n) is not None for n in k)), None)
        existing = find(self.org, table, key) if key is not None else None
        if existing is not None:
            return self.org.update(table, existing[table.primary_id], values, actor=actor)
        if isinstance(key, str):
            values = {**values, table.primary_id: key}
        elif key is not None:
            values = {**values, **key}
        return self.org.create(table, values, actor=actor)

    def _written(self, table: Table, row: Row, req: ApiRequest, status: int) -> ApiResponse:
        row_id = str(row[table.primary_id])
        location = f"{req.api}/{table.entity_set}({row_id})"
        headers = {"OData-EntityId": location, "ETag": etag(row)}
        prefs = preferences(req.headers.get("prefer"))
        if prefs.representation:
            options = parse_options(table, {k: v for k, v in req.params.items() if k.lower() in ("$select",
                                                                                                 "$expand")})
            body = {"@odata.context": f"{req.api}/$metadata#{table.entity_set}{context_select(options)}/$entity",
                    **Renderer(self.org, prefs).row(table, row, options)}
            response = ApiResponse.of_json(status, body, {**headers, "Preference-Applied": "return=representation"})
        else:
            response = ApiResponse.empty(204, headers)
        response.created = (table.logical, row_id)
        return response
