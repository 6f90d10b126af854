"""`/__sandbox/business_central/`: what a person does in Business Central's web client, for tests and the
demo: read any table, add employees, mark a posted invoice paid or cancel it (webhooks fire), mark time
invoiced, edit or delete a record behind q2c's back, add an exchange rate, move the clock (subscriptions
expire), flush webhook notifications now and read what was delivered, expire every access token.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fastapi import Request
from starlette.responses import Response

from q2c.sandboxes.business_central.wire import BcError, error_answer, json_answer, parse_body

if TYPE_CHECKING:
    from q2c.sandboxes.business_central.app import BusinessCentralSandbox

PREFIX = "/__sandbox/business_central"


def install(box: BusinessCentralSandbox) -> None:
    app = box.app

    async def guarded(call: Any) -> Response:
        try:
            result = call()
            return json_answer(200, {"ok": True} if result is None else result)
        except BcError as error:
            return error_answer(error)
        except KeyError as error:
            return json_answer(404, {"error": str(error.args[0])})

    async def body_of(request: Request) -> dict[str, Any]:
        body = parse_body(await request.body())
        return body if isinstance(body, dict) else {}

    @app.get(PREFIX + "/companies", include_in_schema=False)
    async def companies() -> Response:
        return await guarded(box.company_ids)

    @app.get(PREFIX + "/state", include_in_schema=False)
    async def state() -> Response:
        return await guarded(box.everything)

    @app.get(PREFIX + "/companies/{company}/{set_name}", include_in_schema=False)
    async def table(company: str, set_name: str) -> Response:
        return await guarded(lambda: box.records(company, set_name))

    @app.post(PREFIX + "/companies/{company}/employees", include_in_schema=False)
    async def employee(company: str, request: Request) -> Response:
        body = await body_of(request)
        return await guarded(lambda: box.add_employee(company, str(body.pop("number", "")),
                                                      str(body.pop("givenName", "")), str(body.pop("surname", "")),
                                                      **body))

    @app.post(PREFIX + "/companies/{company}/salesInvoices/{invoice_id}/pay", include_in_schema=False)
    async def pay(company: str, invoice_id: str, request: Request) -> Response:
        body = await body_of(request)
        day = date.fromisoformat(body["paidOn"]) if "paidOn" in body else None
        return await guarded(lambda: box.mark_paid(company, invoice_id, paid_on=day))

    @app.post(PREFIX + "/companies/{company}/salesInvoices/{invoice_id}/cancel", include_in_schema=False)
    async def cancel(company: str, invoice_id: str) -> Response:
        return await guarded(lambda: box.cancel_invoice(company, invoice_id))

    @app.post(PREFIX + "/companies/{company}/timeEntries/{entry_id}/invoice", include_in_schema=False)
    async def invoiced(company: str, entry_id: str) -> Response:
        return await guarded(lambda: box.mark_time_invoiced(company, entry_id))

    @app.post(PREFIX + "/companies/{company}/jobs/{number}/complete", include_in_schema=False)
    async def complete(company: str, number: str) -> Response:
        return await guarded(lambda: box.complete_project(company, number))

    @app.patch(PREFIX + "/companies/{company}/{set_name}/{row_id}", include_in_schema=False)
    async def edit(company: str, set_name: str, row_id: str, request: Request) -> Response:
        body = await body_of(request)
        return await guarded(lambda: box.edit_record(company, set_name, row_id, body))

    @app.delete(PREFIX + "/companies/{company}/{set_name}/{row_id}", include_in_schema=False)
    async def delete(company: str, set_name: str, row_id: str) -> Response:
        return await guarded(lambda: box.delete_record(company, set_name, row_id))

    @app.post(PREFIX + "/companies/{company}/currencyExchangeRates", include_in_schema=False)
    async def rate(company: str, request: Request) -> Response:
        b = await body_of(request)
        return await guarded(lambda: box.add_exchange_rate(
            company, str(b["currencyCode"]), date.fromisoformat(str(b["startingDate"])),
            Decimal(str(b["exchangeRateAmount"])), Decimal(str(b["relationalExchangeRateAmount"]))))

    @app.post(PREFIX + "/clock", include_in_schema=False)
    async def clock(request: Request) -> Response:
        b = await body_of(request)
        return await guarded(lambda: box.advance_clock(float(b.get("advance_seconds", 0))))

    @app.put(PREFIX + "/webhooks", include_in_schema=False)
    async def webhook_settings(request: Request) -> Response:
        b = await body_of(request)
        if "delay_seconds" in b:
            box.webhooks.delay_seconds = float(b["delay_seconds"])
        return await guarded(lambda: {"delay_seconds": box.webhooks.delay_seconds})

    @app.post(PREFIX + "/webhooks/flush", include_in_schema=False)
    async def flush() -> Response:
        return await guarded(box.webhooks.flush)

    @app.get(PREFIX + "/webhooks/delivered", include_in_schema=False)
    async def delivered() -> Response:
        return await guarded(lambda: box.webhooks.delivered)

    @app.post(PREFIX + "/tokens/expire", include_in_schema=False)
    async def expire() -> Response:
        return await guarded(box.tenant.expire_tokens)
