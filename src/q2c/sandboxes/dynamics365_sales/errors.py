"""Dataverse's error answer: `{"error": {"code": "0x8004....", "message": "..."}}` with the HTTP status."""

from __future__ import annotations

from starlette.responses import JSONResponse

OBJECT_DOES_NOT_EXIST = "0x80040217"
DUPLICATE_RECORD = "0x80040237"  # also If-None-Match: * on an existing row
DUPLICATE_KEY = "0x80060892"  # alternate key values already used
ETAG_MISMATCH = "0x80060882"
BAD_PROPERTY = "0x80060888"  # unknown property, or a lookup written as _x_value
INVALID_ARGUMENT = "0x80040203"
VALIDATION = "0x80044331"  # "A validation error occurred." (documented for an over-long string)
READ_ONLY_RECORD = "0x80043f01"  # the sandbox's own code for a closed opportunity's update
EXPIRED_VERSION_STAMP = "0x80044352"
QUERY_SYNTAX = "0x80060888"
METHOD_NOT_ALLOWED = "0x80060888"
REQUESTS_LIMIT = "0x80072322"
EXECUTION_TIME_LIMIT = "0x80072321"
CONCURRENCY_LIMIT = "0x80072326"


class DataverseError(Exception):
    """A failed Web API request, answered the way Dataverse does."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers={"OData-Version": "4.0"})


def bad_request(message: str, code: str = INVALID_ARGUMENT) -> DataverseError:
    return DataverseError(400, code, message)


def not_found(table: str, key: str) -> DataverseError:
    return DataverseError(404, OBJECT_DOES_NOT_EXIST, f"{table} With Id = {key} Does Not Exist")


def key_not_found(table: str) -> DataverseError:
    return DataverseError(404, OBJECT_DOES_NOT_EXIST,
                          f"A record with the specified key values does not exist in {table} entity")


def unknown_property(name: str, table: str) -> DataverseError:
    return DataverseError(400, BAD_PROPERTY,
                          f"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.{table}'. Make "
                          "sure to only use property names that are defined by the type or mark the type as open "
                          "type.")


def unknown_query_property(name: str, table: str) -> DataverseError:
    return DataverseError(400, QUERY_SYNTAX,
                          f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table}'.")
