"""The time entry walk reads every entry once while people add, edit and delete time during the read.

Harvest lists time entries newest first and pages them by number (API v2, List all time entries,
https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/; Pagination,
https://help.getharvest.com/api-v2/introduction/overview/pagination/), and bounds them by `from`/`to`
(spent_date on or after / on or before). The sandbox makes changes between two listings
(POST /__sandbox/between_pages); each test first shows what a page-number walk does with the same change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from harvest_fixtures import Clock, Delivery, log_time

from q2c.connectors.harvest.client import HarvestClient
from q2c.connectors.harvest.time_walk import REREADS, DateWindow, Order, TimeEntryWalk, narrow, overlapping_page
from q2c.engine.errors import TransientError
from q2c.sandboxes.harvest.app import HarvestSandbox
from q2c.sandboxes.kit import SandboxServer

D = date.fromisoformat


@pytest.fixture
def admin(server: SandboxServer) -> Iterator[httpx.Client]:
    """The sandbox's own routes (one connection: a new client costs more than a request)."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def line_up(admin: httpx.Client, after: int, *changes: dict[str, Any]) -> None:
    response = admin.post("/__sandbox/between_pages", json={"after": after, "changes": list(changes)})
    assert response.status_code == 200, response.text


def made(admin: httpx.Client) -> list[dict[str, Any]]:
    report = admin.get("/__sandbox/between_pages").json()
    assert report["waiting"] == 0 and all("error" not in m for m in report["made"]), report
    return list(report["made"])


def walked(harvest: HarvestClient, *, per_page: int,
           since: datetime | None = None) -> tuple[list[dict[str, Any]], TimeEntryWalk]:
    walk = TimeEntryWalk(harvest, updated_since=since, per_page=per_page)
    return [e for batch in walk for e in batch], walk


def by_page_number(harvest: HarvestClient, *, per_page: int) -> list[int]:
    return [e["id"] for page in harvest.iter_time_entry_pages(per_page=per_page) for e in page.entries]


def ids(entries: Iterable[dict[str, Any]]) -> list[int]:
    return [e["id"] for e in entries]


def one_day(sandbox: HarvestSandbox, delivery: Delivery, who: list[int], day: str, each: int) -> list[int]:
    """`each` entries per person on one day."""
    made_ids = []
    for user_id in who:
        for n in range(each):
            entry = sandbox.state.create_time_entry({
                "project_id": delivery.project_id, "task_id": delivery.design_task_id, "user_id": user_id,
                "spent_date": day, "hours": Decimal(1), "notes": f"{user_id} {n}"})
            made_ids.append(entry["id"])
    return made_ids


# --- where the walk goes next (pure) ---------------------------------------------------------------


def test_a_newest_first_page_leaves_its_last_day_and_everything_older() -> None:
    rest = narrow(DateWindow(None, D("2026-03-01")), D("2026-02-20"), D("2026-02-11"), None)
    assert (rest.windows, rest.day, rest.order) == ([DateWindow(None, D("2026-02-11"))], None, Order.NEWEST_FIRST)


def test_an_oldest_first_page_leaves_its_last_day_and_everything_newer() -> None:
    rest = narrow(DateWindow(D("2026-01-01"), None), D("2026-02-01"), D("2026-02-09"), None)
    assert (rest.windows, rest.day, rest.order) == ([DateWindow(D("2026-02-09"), None)], None, Order.OLDEST_FIRST)


def test_a_page_of_one_day_leaves_the_sides_the_order_allows() -> None:
    window, day = DateWindow(D("2026-02-01"), D("2026-02-28")), D("2026-02-10")
    both = narrow(window, day, day, None)
    assert (both.windows, both.day) == ([DateWindow(D("2026-02-01"), D("2026-02-09")),
                                         DateWindow(D("2026-02-11"), D("2026-02-28"))], day)
    assert narrow(window, day, day, Order.NEWEST_FIRST).windows == [DateWindow(D("2026-02-01"), D("2026-02-09"))]
    edge = narrow(DateWindow(day, day), day, day, Order.OLDEST_FIRST)
    assert (edge.windows, edge.day) == ([], day)


# --- against the sandbox ----------------------------------------------------------------------------


def test_every_entry_is_read_once_in_a_few_more_requests_than_pages(harvest: HarvestClient, sandbox: HarvestSandbox,
                                                                    delivery: Delivery) -> None:
    every = log_time(sandbox.state, delivery, 40)  # two a day over 20 days
    entries, walk = walked(harvest, per_page=8)
    assert sorted(ids(entries)) == sorted(every) and len(entries) == 40
    assert [e["spent_date"] for e in entries] == sorted((e["spent_date"] for e in entries), reverse=True)
    # 5 pages by number; each window re-reads the two entries of its last day: 40 / (8 - 2) -> 7 requests
    assert walk.requests == 7


def test_a_deletion_mid_walk_skips_nothing(harvest: HarvestClient, sandbox: HarvestSandbox, admin: httpx.Client,
                                           delivery: Delivery) -> None:
    every = log_time(sandbox.state, delivery, 20)  # one a day, newest first: every[19] .. every[0]
    line_up(admin, 1, {"delete": every[19]})  # read on page 1, gone before page 2
    assert set(every[:19]) - set(by_page_number(harvest, per_page=5)) == {every[14]}  # slid onto page 1

    line_up(admin, 1, {"delete": every[18]})
    entries, _ = walked(harvest, per_page=5)
    assert made(admin)
    assert ids(entries) == every[18::-1]  # every[18] was read on the first page, before it went


def test_an_entry_created_mid_walk_is_never_delivered_twice(harvest: HarvestClient, sandbox: HarvestSandbox,
                                                            admin: httpx.Client, delivery: Delivery) -> None:
    every = log_time(sandbox.state, delivery, 20)
    new = {"project_id": delivery.project_id, "task_id": delivery.design_task_id, "user_id": delivery.ada_id,
           "hours": 1}
    line_up(admin, 1, {"create": {**new, "spent_date": "2026-02-28"}})  # ahead of everything: all slide down
    by_number = by_page_number(harvest, per_page=5)
    assert len(by_number) != len(set(by_number))  # a page-number walk reads one entry twice

    line_up(admin, 1, {"create": {**new, "spent_date": "2026-03-01"}})
    line_up(admin, 2, {"create": {**new, "spent_date": "2026-02-10"}})  # among what is still to read
    entries, _ = walked(harvest, per_page=5)
    assert len(ids(entries)) == len(set(ids(entries)))
    assert set(every) <= set(ids(entries))
    late = [m["result"] for m in made(admin)][-1]
    assert late in ids(entries)  # created on a day the walk had not reached yet


def test_an_entry_edited_mid_walk_is_read_at_its_new_state_now_or_by_the_next_walk(
        harvest: HarvestClient, sandbox: HarvestSandbox, admin: httpx.Client, delivery: Delivery,
        clock: Clock) -> None:
    every = log_time(sandbox.state, delivery, 20)  # 2026-02-02 .. 2026-02-21, at 09:00
    clock.advance(hours=1)
    ahead, behind, in_place = every[2], every[19], every[5]
    line_up(admin, 1, {"update": {"id": ahead, "spent_date": "2026-02-25", "notes": "moved to a day read"}},
            {"update": {"id": behind, "spent_date": "2026-02-01", "notes": "moved to a day not read"}},
            {"update": {"id": in_place, "hours": 3}})
    first, _ = walked(harvest, per_page=5)
    by_id = {e["id"]: e for e in first}
    assert made(admin) and len(first) == len(by_id) == 19  # `ahead` moved to a day already passed
    assert set(every) - set(by_id) == {ahead}
    assert by_id[in_place]["hours"] == 3  # read after the edit, at its new state
    assert by_id[behind]["notes"] == "entry 19"  # read before it moved, once

    # The time workflow's next poll asks for what changed since its cursor, kept behind the pass start.
    pass_start = clock.now - timedelta(seconds=1)
    since = min(max(datetime.fromisoformat(e["updated_at"]) for e in first), pass_start - timedelta(minutes=5))
    second = {e["id"]: e for e in walked(harvest, per_page=5, since=since)[0]}
    assert (second[ahead]["spent_date"], second[ahead]["notes"]) == ("2026-02-25", "moved to a day read")
    assert (second[behind]["spent_date"], second[behind]["notes"]) == ("2026-02-01", "moved to a day not read")


def crowded_around(sandbox: HarvestSandbox, delivery: Delivery, each: int) -> tuple[list[int], list[int]]:
    """`each` entries each for Ada and Grace on 2026-02-10 (newest last), and six on the days around it."""
    crowded = one_day(sandbox, delivery, [delivery.ada_id, delivery.grace_id], "2026-02-10", each)
    around = log_time(sandbox.state, delivery, 4, first_day="2026-02-08") + log_time(
        sandbox.state, delivery, 2, first_day="2026-02-11")
    return crowded, around


def test_a_day_fuller_than_a_page_is_read_by_overlapping_pages(harvest: HarvestClient, sandbox: HarvestSandbox,
                                                               delivery: Delivery) -> None:
    crowded, around = crowded_around(sandbox, delivery, 6)  # 13 entries on 02-10
    entries, walk = walked(harvest, per_page=5)
    assert sorted(ids(entries)) == sorted(crowded + around)
    # the window down to 02-10; 02-10 is all that page, so the day: page 1 then pages of 4, 5 and 4
    # each starting inside the one before ([4, 8), [5, 10), [8, 12), [12, 13)); and what is older
    assert walk.requests == 1 + 1 + 1 + 4 + 1


def test_a_deletion_the_overlap_absorbs_costs_nothing(harvest: HarvestClient, sandbox: HarvestSandbox,
                                                      admin: httpx.Client, delivery: Delivery) -> None:
    crowded, around = crowded_around(sandbox, delivery, 50)  # pages of 40 overlap by 2
    quiet = walked(harvest, per_page=40)[1].requests
    line_up(admin, 3, {"delete": crowded[99]})  # from the day's first page
    entries, walk = walked(harvest, per_page=40)
    assert made(admin)
    assert set(ids(entries)) == set(crowded + around) and walk.requests == quiet


def test_a_day_is_read_again_when_more_went_between_two_pages_than_they_overlap(
        harvest: HarvestClient, sandbox: HarvestSandbox, admin: httpx.Client, delivery: Delivery) -> None:
    crowded, around = crowded_around(sandbox, delivery, 6)
    line_up(admin, 3, {"delete": crowded[11]})  # from the day's first page, whose pages overlap by 1
    entries, walk = walked(harvest, per_page=5)
    assert made(admin)
    assert set(ids(entries)) == set(crowded[:11] + around + [crowded[11]])
    assert len(ids(entries)) == len(set(ids(entries)))
    # [4, 8) shares nothing with the first page once its newest went (page 2 by number would skip one):
    # the day again, from its first page
    assert walk.requests == 1 + 1 + (1 + 1) + (1 + 3) + 1


def test_a_day_that_never_holds_still_fails_the_walk_instead_of_skipping(
        harvest: HarvestClient, sandbox: HarvestSandbox, admin: httpx.Client, delivery: Delivery) -> None:
    crowded = one_day(sandbox, delivery, [delivery.ada_id], "2026-02-10", 40)
    for after in range(3, 4 * REREADS + 3, 2):  # before each second page of the day, its top two go
        line_up(admin, after, *({"delete": i} for i in crowded[::-1][after - 3: after - 1]))
    with pytest.raises(TransientError, match="kept changing"):
        walked(harvest, per_page=5)


def test_pages_of_a_crowded_day_start_inside_the_one_before_and_reach_furthest() -> None:
    assert overlapping_page(5, 5, 1) == (2, 4)  # [4, 8)
    assert overlapping_page(8, 5, 1) == (2, 5)  # [5, 10)
    assert overlapping_page(2000, 2000, 100) == (2, 1900)  # [1900, 3800)
    for read_to in range(2000, 200_000, 997):  # a day of up to 200,000 entries, 2,000 a page
        number, size = overlapping_page(read_to, 2000, 100)
        assert (number - 1) * size <= read_to - 100 and number * size > read_to + 1200  # measured: >= 1233
    with pytest.raises(ValueError, match="goes past it"):
        overlapping_page(2, 2, 1)  # [1, 2) or [0, 2): nothing past entry 2 overlaps
