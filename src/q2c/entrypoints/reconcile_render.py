"""One shape for a reconciliation run, whether it was just made or read back: JSON for `--json` and the API,
rows for `--csv` (one row per drift, with the pair totals as rows of their own)."""

from __future__ import annotations

import csv
import io
from typing import Any

from q2c.store.drifts import DriftRow, RunRow
from q2c.workflows.reconcile import Report, pair_summary, value_json, values_json

CSV_HEADER = ("run", "pair", "record", "kind", "field", "left", "right", "cause", "owner", "fix", "exception")


def _drift_json(d: DriftRow) -> dict[str, Any]:
    return {"pair": d.pair, "record_id": d.record_id, "kind": d.kind, "differences": d.differences,
            "left": d.left_values, "right": d.right_values, "cause": d.cause, "owner": d.owner,
            "fix": (d.fix or {}).get("kind"), "exception_id": d.exception_id}


def report_json(report: Report) -> dict[str, Any]:
    return {"run_id": report.run_id, "clean": report.clean, "compared": report.compared, "matched": report.matched,
            "pairs": {p.pair: pair_summary(p) for p in report.pairs}, "wip": report.wip,
            "drifts": [{"pair": t.drift.pair, "record_id": t.drift.key, "kind": t.drift.kind,
                        "differences": [{"field": x.field, "left": value_json(x.left), "right": value_json(x.right)}
                                        for x in t.drift.differences],
                        "left": values_json(t.drift.left), "right": values_json(t.drift.right),
                        "cause": t.trace.cause, "owner": t.trace.owner, "action": t.trace.action,
                        "fix": (t.trace.fix or {}).get("kind"), "exception_id": t.exception_id}
                       for t in report.drifts]}


def run_json(run: RunRow, found: list[DriftRow]) -> dict[str, Any]:
    return {"run_id": run.id, "status": run.status, "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None, **run.stats,
            "drifts": [_drift_json(d) for d in found]}


def to_csv(data: dict[str, Any]) -> str:
    """A run's JSON as CSV: a row per differing field of each drift (one for a missing record), then a row per
    total of each side of each pair (kind `total`)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_HEADER)
    run = data.get("run_id")
    for d in data["drifts"]:
        base = [run, d["pair"], d["record_id"], d["kind"]]
        tail = [d["cause"], d["owner"], d["fix"] or "", d["exception_id"] or ""]
        if d["differences"]:
            for x in d["differences"]:
                w.writerow([*base, x["field"], _cell(x["left"]), _cell(x["right"]), *tail])
        else:
            w.writerow([*base, "", _cell(d["left"]), _cell(d["right"]), *tail])
    for name, p in data["pairs"].items():
        for side, sums in p["totals"].items():
            for measure, value in sums.items():
                w.writerow([run, name, side, "total", measure, value, "", "", "", "", ""])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{k}={_cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(_cell(v) for v in value)
    return str(value)
