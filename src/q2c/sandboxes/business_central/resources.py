"""The OData resource paths of API v2.0 and of q2c's extension, read, written and acted on.

Paths are `companies({id})/<set>[({id})][/<navigation>[({id})]][/Microsoft.NAV.<action>]` (v2.0 reference);
`subscriptions` and `$batch` sit beside `companies`. Documented behaviour served here: 201 with the entity
on create, 200 with the entity on PATCH, 204 on DELETE and on bound actions; `If-Match` is required on
PATCH and DELETE (`*` or the entity's `@odata.etag`; none answers 400 `BadRequest_InvalidToken`, a stale
one 412 `Request_EntityChanged` "Another user has already changed the record."); methods a page does not
allow answer 405 `BadRequest_MethodNotAllowed`; an unknown segment 404 `BadRequest_ResourceNotFound`;
deep insert of lines (and their dimension set lines) in the header's POST.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from q2c.sandboxes.business_central import dims, posting, render
from q2c.sandboxes.business_central.fields import read_body
from q2c.sandboxes.business_central.rules import LINES, RULES, Write, editable_document, recompute_totals
from q2c.sandboxes.business_central.schema import CREATE, DELETE, READ, UPDATE, EntitySet, entity_set
from q2c.sandboxes.business_central.store import Book, Row, Store
from q2c.sandboxes.business_central.wire import BcError, Json, dialog, etag, not_found

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z][\w.]*|\$batch|\$metadata)(?:\((?P<key>[^()]*)\))?$")


@dataclass
class ApiRequest:
    method: str
    api: str  # schema.STANDARD or schema.EXTENSION
    path: str  # after `api/<api>/`
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any
    base: str  # `{url}/v2.0/{tenant}/{environment}/api/<api>`


@dataclass
class ApiResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    name: str
    key: str | None


def segments(path: str) -> list[Segment]:
    out = []
    for part in [p for p in path.strip("/").split("/") if p]:
        match = _SEGMENT.match(part)
        if match is None:
            raise BcError(404, "BadRequest_NotFound", f"Bad Request - Error in query syntax: '{part}'.")
        key = match.group("key")
        if key is not None:
            key = key.strip().strip("'").strip("{}").lower() if key.strip() else None
        out.append(Segment(match.group("name"), key))
    return out


def unknown_segment(name: str) -> BcError:
    return BcError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{name}'.")


class Resources:
    """Serves one API (standard or extension) over the store; webhooks plug in through `subscriptions`."""

    def __init__(self, store: Store, subscriptions: Callable[[ApiRequest, list[Segment]], ApiResponse]) -> None:
        self.store = store
        self.subscriptions = subscriptions

    def handle(self, request: ApiRequest) -> ApiResponse:
        with self.store.lock:
            try:
                return self._route(request)
            except BcError as error:
                return ApiResponse(error.status, error.body())

    def _route(self, request: ApiRequest) -> ApiResponse:
        segs = segments(request.path)
        if not segs:
            raise unknown_segment("")
        if segs[0].name == "subscriptions":
            return self.subscriptions(request, segs)
        if segs[0].name != "companies":
            raise unknown_segment(segs[0].name)
        companies = entity_set(request.api, "companies")
        assert companies is not None
        options = render.Options.of(request.query)
        if segs[0].key is None:
            if len(segs) > 1 or request.method != READ:
                raise self._not_allowed(request.method, companies)
            rows = [b.company for b in self.store.books.values()]
            body, headers = render.collection(companies, rows, options, context=f"{request.base}/$metadata#companies",
                                              link=f"{request.base}/companies", query=request.query,
                                              headers=request.headers, children=self._children_of(None))
            return ApiResponse(200, body, headers)
        book = self.store.book(segs[0].key)
        if book is None:
            raise not_found("Company", segs[0].key)
        if len(segs) == 1:
            if request.method != READ:
                raise self._not_allowed(request.method, companies)
            return self._one(request, companies, book.company, f"companies({book.id})", book)
        return self._in_company(request, book, segs[1:], f"companies({book.id})")

    # --- within a company -----------------------------------------------------------------------------------
    def _in_company(self, request: ApiRequest, book: Book, segs: list[Segment], prefix: str) -> ApiResponse:
        spec: EntitySet | None = None
        row: Row | None = None
        parent: tuple[EntitySet, Row] | None = None
        path = prefix
        for index, seg in enumerate(segs):
            if seg.name.startswith("Microsoft.NAV."):
                if spec is None or row is None or index != len(segs) - 1:
                    raise unknown_segment(seg.name)
                return self._action(request, book, spec, row, seg.name[len("Microsoft.NAV."):])
            child = entity_set(request.api, seg.name)
            if child is None or (spec is None and child.name == "dimensionSetLines") or \
                    (spec is not None and seg.name not in spec.children) or (spec is not None and row is None):
                raise unknown_segment(seg.name)
            if spec is not None and row is not None:
                parent = (spec, row)
            spec, row = child, None
            path += f"/{seg.name}"
            if seg.key is not None:
                row = self._find(book, spec, parent, seg.key)
                path += f"({seg.key})"
        assert spec is not None
        if request.method not in spec.methods:
            raise self._not_allowed(request.method, spec)
        if row is None:
            if request.method == READ:
                rows = self._scope(book, spec, parent)
                body, headers = render.collection(
                    spec, rows, render.Options.of(request.query), context=f"{request.base}/$metadata#{path}",
                    link=f"{request.base}/{path}", query=request.query, headers=request.headers,
                    children=self._children_of(book))
                return ApiResponse(200, body, headers)
            if request.method == CREATE:
                created = self.create(book, spec, request.body, parent)
                return self._one(request, spec, created, f"{path}({created.values['id']})", book, status=201)
            raise self._not_allowed(request.method, spec)
        if request.method == READ:
            return self._one(request, spec, row, path, book)
        self._check_etag(request, row)
        if request.method == UPDATE:
            self.update(book, spec, row, request.body, parent)
            return self._one(request, spec, row, path, book)
        if request.method == DELETE:
            self.delete(book, spec, row, parent)
            return ApiResponse(204)
        raise self._not_allowed(request.method, spec)

    def _one(self, request: ApiRequest, spec: EntitySet, row: Row, path: str, book: Book,
             status: int = 200) -> ApiResponse:
        context_path = re.sub(r"\([^()]*\)$", "", path)
        body = {"@odata.context": f"{request.base}/$metadata#{context_path}/$entity",
                **render.entity(spec, row, render.Options.of(request.query), self._children_of(book))}
        headers = {"ETag": etag(str(row.values["id"]), row.version)}
        if status == 201:
            headers["Location"] = f"{request.base}/{path}"
        return ApiResponse(status, body, headers)

    def _children_of(self, book: Book | None) -> render.Children:
        def children(spec: EntitySet, row: Row, nav: str) -> list[Row]:
            child = entity_set(spec.api, nav)
            assert child is not None and book is not None
            return self._scope(book, child, (spec, row))
        return children

    def _scope(self, book: Book, spec: EntitySet, parent: tuple[EntitySet, Row] | None) -> list[Row]:
        rows = list(book.table(spec.storage).values())
        if parent is None:
            return rows
        link = spec.parents.get(parent[0].name)
        if link is None:
            return []
        return [r for r in rows if r.values.get(link) == parent[1].values["id"]]

    def _find(self, book: Book, spec: EntitySet, parent: tuple[EntitySet, Row] | None, key: str) -> Row:
        found = next((r for r in self._scope(book, spec, parent) if str(r.values["id"]).lower() == key), None)
        if found is None:
            raise not_found(spec.caption, key)
        return found

    @staticmethod
    def _not_allowed(method: str, spec: EntitySet) -> BcError:
        return BcError(405, "BadRequest_MethodNotAllowed",
                       f"'{method}' requests for '{spec.name}' of EdmType 'Entity' are not allowed within "
                       "Microsoft Dynamics 365 Business Central OData web services.")

    @staticmethod
    def _check_etag(request: ApiRequest, row: Row) -> None:
        wanted = request.headers.get("if-match")
        if wanted is None:
            raise BcError(400, "BadRequest_InvalidToken", "Could not validate the client concurrency token required "
                          "by the service. Please provide a valid token in the client request.")
        if wanted.strip() != "*" and etag(str(row.values["id"]), row.version) not in [t.strip() for t in
                                                                                        wanted.split(",")]:
            raise BcError(412, "Request_EntityChanged", "Another user has already changed the record.")

    # --- writes -----------------------------------------------------------------------------------------------
    def create(self, book: Book, spec: EntitySet, body: Any, parent: tuple[EntitySet, Row] | None) -> Row:
        nested = isinstance(body, dict) and any(isinstance(body.get(c), list) for c in spec.children)
        saved = self.store.snapshot() if nested else None
        try:
            return self._create(book, spec, body, parent)
        except BcError:
            if saved is not None:  # a deep insert is one transaction
                self.store.restore(saved)
            raise

    def _create(self, book: Book, spec: EntitySet, body: Any, parent: tuple[EntitySet, Row] | None) -> Row:
        values = read_body(spec, body, None, nested=spec.children)
        if parent is not None and spec.parents.get(parent[0].name):
            values[spec.parents[parent[0].name]] = parent[1].values["id"]
        write = Write(self.store, book, spec, None, parent[0].name if parent else None, parent[1] if parent else None)
        self._rule(spec)(write, values)
        row = self.store.new_row(spec, values)
        key = dims.key(str(values["parentId"]), str(values["id"])) if spec.name == dims.TABLE else None
        self.store.insert(book, spec, row, key)
        self._after(book, spec, row)
        for nav in spec.children:
            items = body.get(nav) if isinstance(body, dict) else None
            if items is None:
                continue
            child = entity_set(spec.api, nav)
            if child is None or not isinstance(items, list):
                raise dialog(f"'{nav}' in a deep insert must be a list of {nav}.")
            for item in items:
                self._create(book, child, item, (spec, row))
        return row

    def update(self, book: Book, spec: EntitySet, row: Row, body: Any, parent: tuple[EntitySet, Row] | None) -> None:
        values = read_body(spec, body, row.values)
        write = Write(self.store, book, spec, row, parent[0].name if parent else None, parent[1] if parent else None)
        self._rule(spec)(write, values)
        self.store.touch(book, spec, row, values)
        self._after(book, spec, row)

    def delete(self, book: Book, spec: EntitySet, row: Row, parent: tuple[EntitySet, Row] | None) -> None:
        v = row.values
        if spec.name in LINES.values():
            editable_document(book, spec.name, row)
            for line_set in [k for k, h in LINES.items() if h == spec.name]:
                for line in [r for r in book.table(line_set).values() if r.values["documentId"] == v["id"]]:
                    self._drop_dims(book, str(line.values["id"]))
                    del book.table(line_set)[str(line.values["id"])]
        elif spec.name in LINES:
            header = book.table(LINES[spec.name]).get(str(v["documentId"]))
            if header is not None:
                editable_document(book, LINES[spec.name], header)
        elif spec.name == dims.TABLE:
            if parent is not None:
                owner = dims.header_of(book, parent[0].name, parent[1])
                if owner is not None:
                    editable_document(book, *owner)
            self.store.remove(book, spec, dims.key(str(v["parentId"]), str(v["id"])))
            return
        elif spec.name == "timeEntries" and v["invoiced"]:
            raise dialog(f"Time entry {v['externalId']} has been invoiced and can no longer be deleted.")
        elif spec.name == "customers":
            for doc in LINES.values():
                if any(r.values["customerId"] == v["id"] and r.values["status"] in ("Draft", "Open")
                       for r in book.table(doc).values()):
                    raise dialog(f"You cannot delete Customer {v['number']} because there is at least one "
                                 f"outstanding {doc} for this customer.")
        elif spec.name == "projects" and book.find("timeEntries", jobNumber=v["number"]) is not None:
            raise dialog(f"You cannot delete Job {v['number']} because it has time entries.")
        self._drop_dims(book, str(v["id"]))
        self.store.remove(book, spec, str(v["id"]))
        self._after(book, spec, row)

    def _drop_dims(self, book: Book, parent_id: str) -> None:
        for key in [k for k, r in book.table(dims.TABLE).items() if r.values["parentId"] == parent_id]:
            del book.table(dims.TABLE)[key]

    @staticmethod
    def _rule(spec: EntitySet) -> Callable[[Write, dict[str, Any]], None]:
        if spec.name == dims.TABLE:
            return dims.dimension_line
        return RULES.get(spec.name, lambda write, values: None)

    def _after(self, book: Book, spec: EntitySet, row: Row) -> None:
        if spec.name in LINES:
            header = book.table(LINES[spec.name]).get(str(row.values["documentId"]))
            if header is not None:
                recompute_totals(self.store, book, LINES[spec.name], header)

    # --- bound actions --------------------------------------------------------------------------------------
    def _action(self, request: ApiRequest, book: Book, spec: EntitySet, row: Row, action: str) -> ApiResponse:
        if request.method != CREATE:
            raise BcError(405, "BadRequest_MethodNotAllowed", f"'{request.method}' requests for the action "
                          f"'Microsoft.NAV.{action}' are not allowed.")
        if action == "post" and spec.name in ("salesInvoices", "salesCreditMemos"):
            posting.post_document(self.store, book, spec.name, row)
        elif action == "cancel" and spec.name == "salesInvoices":
            posting.cancel_invoice(self.store, book, row)
        elif action == "post" and spec.name == "journals":
            posting.post_journal(self.store, book, row)
        else:
            raise unknown_segment(f"Microsoft.NAV.{action}")
        return ApiResponse(204)


def response_json(response: ApiResponse) -> Json:
    return {"status": response.status, "headers": response.headers, "body": response.body}
