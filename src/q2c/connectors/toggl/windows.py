"""Which work dates a pass reads from Toggl's detailed report. Pure.

The report is searched by work date, not by update time (`start_date`/`end_date`, at most a year a
request: Toggl's mobile team, toggl/mobileapp #970), so a pass reads:
- the first time: the last `history_days` of work;
- later: the last `lookback_days` (where edits and new time land), plus the period of every
  timesheet submitted, approved or rejected since the last pass, however old (an approval changes
  no entry's `at`, so only the timesheet says that its entries changed state).
Overlapping windows are merged and long ones cut into pieces of at most `MAX_DAYS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

MAX_DAYS = 366


def merged(windows: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Windows joined where they overlap or touch, oldest first, each cut to at most `MAX_DAYS` days."""
    joined: list[tuple[date, date]] = []
    for start, end in sorted(w for w in windows if w[0] <= w[1]):
        if joined and start <= joined[-1][1] + timedelta(days=1):
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    pieces: list[tuple[date, date]] = []
    for start, end in joined:
        while start <= end:
            last = min(end, start + timedelta(days=MAX_DAYS - 1))
            pieces.append((start, last))
            start = last + timedelta(days=1)
    return pieces


def pass_windows(today: date, *, first_pass: bool, history_days: int, lookback_days: int,
                 changed_periods: Iterable[tuple[date, date]] = ()) -> list[tuple[date, date]]:
    # A day of margin after today: an entry's owner may be a timezone ahead of the token's owner.
    until = today + timedelta(days=1)
    if first_pass:
        return merged([(today - timedelta(days=history_days), until)])
    return merged([(today - timedelta(days=lookback_days), until), *changed_periods])
