"""The account's clients (`/v2/clients`): a name is unique in the account, whatever its case, and the
currency is an ISO 4217 code (USD when none is given)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from q2c.sandboxes.harvest.errors import HarvestRefusal, NotFound
from q2c.sandboxes.harvest.fields import as_bool, as_currency, as_text, required
from q2c.sandboxes.harvest.stamps import Stamps
from q2c.sandboxes.harvest.wire import Json


class Clients:
    def __init__(self, stamps: Stamps) -> None:
        self.clients: dict[int, Json] = {}
        self._stamps = stamps

    def create(self, body: Mapping[str, Any]) -> Json:
        name = self._free_name(body, None)
        currency = as_currency(body.get("currency") or "USD")
        _, now_text = self._stamps.now()
        client: Json = {
            "id": self._stamps.new_id("client"), "name": name,
            "is_active": as_bool(body.get("is_active", True), "is_active"),
            "address": body.get("address"), "statement_key": f"sk{len(self.clients) + 1:08d}",
            "currency": currency, "created_at": now_text, "updated_at": now_text,
        }
        self.clients[client["id"]] = client
        return client

    def update(self, client_id: int, body: Mapping[str, Any]) -> Json:
        """`PATCH /v2/clients/{id}`: name, is_active and address; the currency stays."""
        client = self.get(client_id)
        if "name" in body:
            client["name"] = self._free_name(body, client_id)
        if "is_active" in body:
            client["is_active"] = as_bool(body["is_active"], "is_active")
        if "address" in body:
            client["address"] = body["address"]
        client["updated_at"] = self._stamps.now()[1]
        return client

    def get(self, client_id: int) -> Json:
        if client_id not in self.clients:
            raise NotFound("Client")
        return self.clients[client_id]

    def _free_name(self, body: Mapping[str, Any], own_id: int | None) -> str:
        name = as_text(required(body, "name"), "name").strip()
        if any(c["name"].lower() == name.lower() and c["id"] != own_id for c in self.clients.values()):
            raise HarvestRefusal("Name has already been taken")
        return name
