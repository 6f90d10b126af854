"""What every sandbox shares: fault injection, vendor limits, an admin API, and a server runner.

A sandbox is a real HTTP server on loopback that speaks one vendor's wire protocol. Faults
(down, latency, 5xx rate, throttle rate, malformed bodies, at random or exactly the next N) are
set at start and changed at run time through `PUT /__sandbox/faults`. The `/__sandbox/`
namespace is the only thing a real vendor would not have; connectors never call it.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, PlainTextResponse, Response


class Faults(BaseModel):
    """Injected trouble. Rates are probabilities per request (0..1)."""

    down: bool = False  # answer every vendor call with 503 and an HTML maintenance page
    latency_ms: int = Field(default=0, ge=0, le=120_000)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # 500/502/503 answers
    throttle_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # the vendor's throttle answer
    malformed_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # 200 with a truncated JSON body
    # exactly the next N vendor answers garbled the same way, then none: a fault a test can count on
    malformed_next: int = Field(default=0, ge=0, le=1_000_000)
    # garbled answers come from something in front of the vendor (a proxy), so the request never
    # reaches it; by default the vendor has done the work (written the record) before the answer is lost
    malformed_before_vendor: bool = False
    seed: int | None = None


@dataclass
class VendorLimits:
    """The vendor's real limits, enforced like the vendor does (None: unlimited)."""

    requests_per_window: int | None = None
    window_seconds: float = 15.0
    concurrency: int | None = None


@dataclass
class SandboxStats:
    requests: int = 0
    throttled: int = 0
    injected_errors: int = 0
    garbled: int = 0  # answers replaced by a truncated body (counted in injected_errors too)
    by_path: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LoopbackTls:
    """A throwaway certificate authority and a server certificate it signed for 127.0.0.1 and localhost.

    Some vendor clients refuse plain http (msal and Microsoft's Dataverse client want an https
    authority and organisation URL), so their sandboxes serve HTTPS; a client trusts the CA file and
    nothing else changes. Made fresh at every start: nothing secret is kept in the repository."""

    ca_pem: str
    cert_pem: str
    key_pem: str

    @classmethod
    def create(cls) -> LoopbackTls:
        import datetime as dt
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "q2c sandbox CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=30))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False,
                                           data_encipherment=False, key_agreement=False, encipher_only=False,
                                           decipher_only=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        pem = serialization.Encoding.PEM
        return cls(ca_pem=ca.public_bytes(pem).decode(), cert_pem=cert.public_bytes(pem).decode(),
                   key_pem=key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode())

    def write_ca(self, path: Path) -> Path:
        """The CA certificate a client trusts to reach the sandbox (not secret)."""
        path.write_text(self.ca_pem)
        return path


ThrottleResponse = Callable[[float], Response]  # seconds until the window frees -> vendor's answer


def default_throttle(retry_after: float) -> Response:
    return JSONResponse({"message": "Too Many Requests"}, status_code=429,
                        headers={"Retry-After": str(max(1, int(retry_after + 0.999)))})


class Sandbox:
    """Wraps a vendor FastAPI app with faults, limits and the admin API."""

    def __init__(self, name: str, app: FastAPI, *, faults: Faults | None = None,
                 limits: VendorLimits | None = None, throttle: ThrottleResponse = default_throttle,
                 reset: Callable[[], None] | None = None, tls: LoopbackTls | None = None) -> None:
        self.name = name
        self.app = app
        self.tls = tls  # served over HTTPS with this certificate when set
        self.faults = faults or Faults()
        self.limits = limits or VendorLimits()
        self.stats = SandboxStats()
        self._throttle = throttle
        self._reset = reset
        self._rng = random.Random(self.faults.seed)
        self._garble_left = self.faults.malformed_next
        self._window: deque[float] = deque()
        self._in_flight = 0
        self._install()

    # --- admin ------------------------------------------------------------------------------
    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._garble_left = faults.malformed_next

    def set_limits(self, limits: VendorLimits) -> None:
        self.limits = limits
        self._window.clear()

    def _install(self) -> None:
        app = self.app

        @app.get("/__sandbox/faults", include_in_schema=False)
        async def get_faults() -> dict[str, Any]:
            return self.faults.model_dump()

        @app.put("/__sandbox/faults", include_in_schema=False)
        async def put_faults(faults: Faults) -> dict[str, Any]:
            self.set_faults(faults)
            return faults.model_dump()

        @app.put("/__sandbox/limits", include_in_schema=False)
        async def put_limits(body: dict[str, Any]) -> dict[str, Any]:
            self.set_limits(VendorLimits(**body))
            return body

        @app.get("/__sandbox/stats", include_in_schema=False)
        async def get_stats() -> dict[str, Any]:
            s = self.stats
            return {"requests": s.requests, "throttled": s.throttled, "injected_errors": s.injected_errors,
                    "garbled": s.garbled, "garble_left": self._garble_left, "in_flight": self._in_flight,
                    "by_path": s.by_path}

        @app.post("/__sandbox/reset", include_in_schema=False)
        async def reset() -> dict[str, str]:
            if self._reset is not None:
                self._reset()
            self.stats = SandboxStats()
            self._window.clear()
            return {"status": "reset"}

        @app.middleware("http")
        async def vendor_behaviour(request: Request,
                                   call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            if request.url.path.startswith("/__sandbox/"):
                return await call_next(request)
            return await self._vendor_call(request, call_next)

    async def _vendor_call(self, request: Request,
                           call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        stats = self.stats
        stats.requests += 1
        key = f"{request.method} {request.url.path}"
        stats.by_path[key] = stats.by_path.get(key, 0) + 1
        faults = self.faults
        if faults.down:
            stats.injected_errors += 1
            return PlainTextResponse("<html><body><h1>Service Unavailable</h1>Scheduled maintenance"
                                     "</body></html>", status_code=503, media_type="text/html")
        limit_wait = self._window_wait()
        if limit_wait is not None:
            stats.throttled += 1
            return self._throttle(limit_wait)
        if faults.throttle_rate and self._rng.random() < faults.throttle_rate:
            stats.throttled += 1
            return self._throttle(1.0)
        if self.limits.concurrency is not None and self._in_flight >= self.limits.concurrency:
            stats.throttled += 1
            return self._throttle(0.0)
        self._in_flight += 1
        try:
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            if faults.error_rate and self._rng.random() < faults.error_rate:
                stats.injected_errors += 1
                status = self._rng.choice([500, 502, 503])
                return JSONResponse({"message": "injected server error"}, status_code=status)
            if faults.malformed_before_vendor and self._garble(faults):
                return self._garbled()
            response = await call_next(request)
        finally:
            self._in_flight -= 1
        if not faults.malformed_before_vendor and self._garble(faults):
            return self._garbled()
        return response

    def _garble(self, faults: Faults) -> bool:
        """Whether this answer is lost: one of the next N counted ones, else by chance."""
        if self._garble_left > 0:
            self._garble_left -= 1
            return True
        return bool(faults.malformed_rate) and self._rng.random() < faults.malformed_rate

    def _garbled(self) -> Response:
        self.stats.injected_errors += 1
        self.stats.garbled += 1
        return Response(b'{"truncated": [1, 2, ', status_code=200, media_type="application/json")

    def _window_wait(self) -> float | None:
        limit = self.limits.requests_per_window
        if not limit:
            return None
        now = time.monotonic()
        while self._window and now - self._window[0] >= self.limits.window_seconds:
            self._window.popleft()
        if len(self._window) >= limit:
            return self.limits.window_seconds - (now - self._window[0])
        self._window.append(now)
        return None


class SandboxServer:
    """Runs a sandbox with uvicorn in a background thread on loopback; stop/start simulates an outage."""

    def __init__(self, sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self.host = host
        self.port = port or free_port(host)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._tls_files: TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.sandbox.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        certfile = keyfile = None
        if self.sandbox.tls is not None:  # uvicorn reads the certificate and key from files
            if self._tls_files is None:
                self._tls_files = TemporaryDirectory(prefix="q2c-sandbox-tls-")
                folder = Path(self._tls_files.name)
                (folder / "cert.pem").write_text(self.sandbox.tls.cert_pem + self.sandbox.tls.ca_pem)
                (folder / "key.pem").write_text(self.sandbox.tls.key_pem)
                (folder / "key.pem").chmod(0o600)
            folder = Path(self._tls_files.name)
            certfile, keyfile = str(folder / "cert.pem"), str(folder / "key.pem")
        config = uvicorn.Config(self.sandbox.app, host=self.host, port=self.port, log_level="warning",
                                access_log=False, lifespan="off", timeout_keep_alive=30, ssl_certfile=certfile,
                                ssl_keyfile=keyfile)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"sandbox-{self.sandbox.name}",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"sandbox {self.sandbox.name} did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            # An idle keep-alive connection over TLS is not closed until its client closes it (msal and the
            # Dataverse client keep theirs open), so waiting for connections would hold every stop up to
            # the join's timeout; a sandbox going away is an outage anyway: nothing waits for its clients.
            self._server.force_exit = True
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def serve_forever(sandbox: Sandbox, *, host: str, port: int) -> None:
    """Run a sandbox in the foreground (the `q2c sandbox NAME` command), over HTTPS when it has a certificate."""
    if sandbox.tls is None:
        uvicorn.run(sandbox.app, host=host, port=port, log_level="info", lifespan="off")
        return
    with TemporaryDirectory(prefix="q2c-sandbox-tls-") as name:
        folder = Path(name)
        (folder / "cert.pem").write_text(sandbox.tls.cert_pem + sandbox.tls.ca_pem)
        (folder / "key.pem").write_text(sandbox.tls.key_pem)
        (folder / "key.pem").chmod(0o600)
        uvicorn.run(sandbox.app, host=host, port=port, log_level="info", lifespan="off",
                    ssl_certfile=str(folder / "cert.pem"), ssl_keyfile=str(folder / "key.pem"))


def render_json(value: Any) -> str:
    """JSON text for sandbox values; `Decimal` becomes a JSON number without passing through float."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{render_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(render_json(v) for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} as JSON")
