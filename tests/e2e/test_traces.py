"""One trace per change (OpenTelemetry): the demo story run with tracing on, in a process of its own (a tracer
provider and the httpx instrumentation are process-wide), its spans exported to the SDK's in-memory exporter
and read back here.

A won deal's trace holds its intake span (`q2c.intake deal.won`), its setup's work span (`q2c.work
deal.setup`) and, under that, the HTTP requests the setup made to the CRM, the tracker and the ERP; every
span of it carries the change's correlation id, which is the trace id. A micro-batch of time is one span in
its first change's trace, linked to the other changes it served.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Any

SCRIPT = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from q2c.config import TracingSettings
    from q2c.entrypoints.demo import DemoWorld, run_scenario
    from q2c.entrypoints.tracing_setup import configure_tracing

    exporter = InMemorySpanExporter()
    provider = configure_tracing(TracingSettings(), exporter=exporter)
    world = DemoWorld(Path(sys.argv[1])).start()
    try:
        run_scenario(world, world.hub(), console=None)
    finally:
        world.stop()
    provider.force_flush()
    spans = [{"name": s.name, "trace_id": format(s.context.trace_id, "032x"),
              "span_id": format(s.context.span_id, "016x"),
              "parent": format(s.parent.span_id, "016x") if s.parent else None,
              "attributes": {k: (v if isinstance(v, (str, int, float, bool)) else str(v))
                             for k, v in (s.attributes or {}).items()},
              "links": [format(link.context.trace_id, "032x") for link in s.links]}
             for s in exporter.get_finished_spans()]
    Path(sys.argv[2]).write_text(json.dumps(spans))
''')


def test_each_change_is_one_trace_from_intake_to_the_vendor_calls(tmp_path: Path) -> None:
    out = tmp_path / "spans.json"
    (tmp_path / "demo").mkdir()
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "demo"), str(out)], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    spans: list[dict[str, Any]] = json.loads(out.read_text())
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        by_trace[span["trace_id"]].append(span)

    intakes = [s for s in spans if s["name"] == "q2c.intake deal.won" and not s["attributes"]["q2c.duplicate"]]
    assert len(intakes) == 2  # the demo's two won deals
    for intake in intakes:
        correlation = intake["attributes"]["q2c.correlation_id"]
        assert intake["trace_id"] == correlation
        trace = by_trace[correlation]
        setup = next(s for s in trace if s["name"] == "q2c.work deal.setup")
        assert setup["attributes"]["q2c.aggregate"].startswith("opportunity:")
        calls = [s for s in trace if s["parent"] == setup["span_id"]
                 and (s["attributes"].get("http.request.method") or s["attributes"].get("http.method"))]
        assert calls, [s["name"] for s in trace]
        assert all(s["attributes"].get("q2c.correlation_id", correlation) == correlation for s in trace)

    batches = [s for s in spans if s["name"] == "q2c.work time.deliver"]
    assert batches and all(s["trace_id"] == s["attributes"]["q2c.correlation_id"] for s in batches)
    assert sum(s["attributes"]["q2c.changes"] for s in batches) >= len(batches)
    assert all(len(s["links"]) == s["attributes"]["q2c.changes"] - 1 for s in batches)
    time_intakes = {s["trace_id"] for s in spans if s["name"] == "q2c.intake time_entries.changed"}
    served = {s["trace_id"] for s in batches} | {t for s in batches for t in s["links"]}
    assert served <= time_intakes
