"""Re-pricing shows the billed time a rate change reaches, unchanged, and the totals of what it re-prices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing_engagement import RATE_CARD, entry, usd

from q2c.domain.billing import apply_reprice, rate_time_entry, reprice_preview
from q2c.domain.model import RateCardLine

# Consultant 150 until 30 June, 160 from 1 July (RC-1); a change adds 155 from 9 March to 30 June.
RAISED = RATE_CARD.model_copy(update={"lines": (
    *RATE_CARD.lines,
    RateCardLine(role="Consultant", rate=usd("155.00"), cost_rate=usd("80.00"), effective_from=date(2026, 3, 9),
                 effective_to=date(2026, 6, 30)),
)})

TIME = [rate_time_entry(entry(i, h, d), role="Consultant", rate_card=RATE_CARD) for i, h, d in (
    ("E-1", "2", date(2026, 3, 2)),  # before the change: 300.00 either way
    ("E-2", "3", date(2026, 3, 9)),  # billed: 450.00, would be 3 x 155 = 465.00
    ("E-3", "1.5", date(2026, 3, 10)),  # unbilled: 225.00 -> 1.5 x 155 = 232.50
    ("E-4", "4", date(2026, 4, 1)),  # unbilled: 600.00 -> 620.00
)]


def test_billed_time_the_change_reaches_is_shown_unchanged_and_the_totals_are_the_repriced_entries() -> None:
    """Re-priced: E-3 and E-4, 5.5 h, 225.00 + 600.00 = 825.00 -> 232.50 + 620.00 = 852.50, +27.50.
    E-2 is billed: shown with the 465.00 it would have had, kept at 450.00; E-1 is unchanged."""
    preview = reprice_preview(TIME, rate_card=RAISED, billed_entry_ids={"E-2"})
    assert [c.entry_id for c in preview.changes] == ["E-3", "E-4"]
    assert (preview.hours, preview.old_total, preview.new_total, preview.total_difference) == (
        Decimal("5.5"), usd("825.00"), usd("852.50"), usd("27.50"))
    (billed,) = preview.billed_untouched
    assert (billed.entry_id, billed.old_amount, billed.new_amount) == ("E-2", usd("450.00"), usd("465.00"))
    assert preview.billed_untouched_entry_ids == ("E-2",) and preview.unchanged_entry_ids == ("E-1",)
    after = apply_reprice(TIME, preview)
    assert [r.amount for r in after] == [usd("300.00"), usd("450.00"), usd("232.50"), usd("620.00")]


def test_billed_time_the_card_no_longer_prices_is_no_problem() -> None:
    """A card without the Jan-Jun 150 line cannot price E-1 (2 March), but E-1 is billed: not re-priced, so
    nothing is refused and it is not shown as reached; billed E-2 (9 March) is reached by the 155 line (465.00,
    kept at 450.00); unbilled E-3 is re-priced to 232.50."""
    shrunk = RAISED.model_copy(update={"lines": RAISED.lines[1:]})
    preview = reprice_preview(TIME[:3], rate_card=shrunk, billed_entry_ids={"E-1", "E-2"})
    assert [(c.entry_id, c.new_amount) for c in preview.changes] == [("E-3", usd("232.50"))]
    assert [(c.entry_id, c.new_amount) for c in preview.billed_untouched] == [("E-2", usd("465.00"))]
    assert preview.billed_untouched_entry_ids == ("E-1", "E-2")
