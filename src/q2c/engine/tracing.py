"""Traces: one per change, keyed by its correlation id, from the webhook or poll through the queue to every
vendor call (OpenTelemetry).

A change's correlation id is 32 hex digits, which is exactly an OpenTelemetry trace id, so every step that
knows the id joins the change's trace without carrying a context through the queue (the id already travels
with the work item): the intake's span, each work item's, and, under those, each vendor request (httpx,
instrumented by `opentelemetry-instrumentation-httpx`). Spans carry `q2c.correlation_id`. Without an exporter
configured (`tracing.otlp_endpoint`), the OpenTelemetry API is a no-op and all of this costs a function call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags

TRACER = "q2c"
_HEX32 = frozenset("0123456789abcdef")


def trace_id_of(correlation_id: str) -> int | None:
    """The trace id a correlation id stands for (None when it is not 32 hex digits, or all zeros)."""
    text = correlation_id.strip().lower()
    if len(text) != 32 or not set(text) <= _HEX32:
        return None
    value = int(text, 16)
    return value or None


def change_span_id(correlation_id: str) -> int:
    """The span id of the change itself: every step's span is its child, so a trace viewer shows the intake,
    each work item and their vendor calls side by side under one change (that parent is never exported)."""
    return int.from_bytes(hashlib.sha256(correlation_id.strip().lower().encode()).digest()[:8], "big") or 1


@contextmanager
def change_span(name: str, correlation_id: str, *, kind: SpanKind = SpanKind.INTERNAL,
                attributes: Mapping[str, Any] | None = None, links: Sequence[Link] = ()) -> Iterator[Span]:
    """A span in the change's trace (a child of the current span when one is open in that trace)."""
    tracer = trace.get_tracer(TRACER)
    current = trace.get_current_span().get_span_context()
    trace_id = trace_id_of(correlation_id)
    attrs = {"q2c.correlation_id": correlation_id, **(attributes or {})}
    if trace_id is None or (current.is_valid and current.trace_id == trace_id):
        with tracer.start_as_current_span(name, kind=kind, attributes=attrs, links=links) as span:
            yield span
        return
    parent = _change_context(correlation_id)
    assert parent is not None
    context = trace.set_span_in_context(NonRecordingSpan(parent))
    with tracer.start_as_current_span(name, context=context, kind=kind, attributes=attrs, links=links) as span:
        yield span


def _change_context(correlation_id: str) -> SpanContext | None:
    trace_id = trace_id_of(correlation_id)
    if trace_id is None:
        return None
    return SpanContext(trace_id=trace_id, span_id=change_span_id(correlation_id), is_remote=True,
                       trace_flags=TraceFlags(TraceFlags.SAMPLED))


@contextmanager
def batch_span(name: str, correlation_ids: Sequence[str], *, attributes: Mapping[str, Any] | None = None
               ) -> Iterator[Span]:
    """One span for work that serves several changes at once (a micro-batch of time to the ERP in one
    request): in the first change's trace, linked to each of the others (OpenTelemetry's batch pattern)."""
    ids = list(dict.fromkeys(correlation_ids))
    if not ids:
        with trace.get_tracer(TRACER).start_as_current_span(name, attributes=dict(attributes or {})) as span:
            yield span
        return
    links = [Link(ctx) for ctx in (_change_context(c) for c in ids[1:]) if ctx is not None]
    with change_span(name, ids[0], attributes={**(attributes or {}), "q2c.changes": len(ids)},
                     links=links) as span:
        yield span
