"""Change notices from the ERP (workflow 3's invoices coming back, pushed instead of waited for).

An ERP that pushes notice of changed documents (`ports.ChangeNotices`: Business Central's webhook
subscriptions) is kept subscribed by the serve scheduler (`keep_subscribed`), and each push it makes is
read by `receive_notice`: a handshake is answered, a notice that invoices changed makes the scheduler poll
invoice status at once, anything not from q2c's own subscription is refused. The notice carries no data
q2c acts on: the invoice-status poll reads what changed from the ERP, on its cursor, as it does every poll
round, so a notice lost, repeated or forged changes nothing in the books.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from q2c.workflows.hub import Hub
from q2c.workflows.ports import ChangeNotices, Notice, Subscriptions

NOT_SUPPORTED = "the ERP configured sends no change notices"


def notices_of(hub: Hub) -> ChangeNotices | None:
    return hub.erp if isinstance(hub.erp, ChangeNotices) else None


def keep_subscribed(hub: Hub) -> Subscriptions | None:
    """Create or renew the ERP's subscriptions; None when the ERP or its config asks for none."""
    erp = notices_of(hub)
    return erp.keep_subscribed() if erp is not None else None


def receive_notice(hub: Hub, query: Mapping[str, str], body: bytes, *, poll_now: Callable[[], None]) -> Notice:
    """Read one push; `poll_now` is called when it says invoices changed."""
    erp = notices_of(hub)
    if erp is None:
        return Notice(refused=NOT_SUPPORTED)
    notice = erp.notice(query, body)
    if notice.refused is None and "invoice" in notice.changed:
        poll_now()
    return notice
