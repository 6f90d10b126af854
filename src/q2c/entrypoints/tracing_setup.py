"""Turning traces on for a long-running process: the OpenTelemetry SDK with an OTLP/HTTP exporter, and httpx
instrumented so each vendor request is a span under the work item that made it.

Chosen: the OpenTelemetry SDK and its OTLP exporter (the vendor-neutral standard every tracing backend
accepts) and `opentelemetry-instrumentation-httpx` (the project's own httpx instrumentation), rather than
hand-written spans around each connector's calls.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from q2c.config import TracingSettings


def configure_tracing(settings: TracingSettings, *, exporter: SpanExporter | None = None) -> TracerProvider | None:
    """The process's tracer provider, exporting to the configured endpoint (or to `exporter`); None, and
    nothing changed, when neither is set."""
    if exporter is None and settings.otlp_endpoint is None:
        return None
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint, headers=dict(settings.headers))
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    return provider
