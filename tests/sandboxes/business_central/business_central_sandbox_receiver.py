"""A small local webhook subscriber: answers Business Central's validation handshake and keeps notifications."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Receiver:
    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self.handshakes = 0
        self.answer_handshake = True
        self.status = 200  # what a notification is answered with
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if "validationToken" in query:
                    receiver.handshakes += 1
                    token = query["validationToken"][0] if receiver.answer_handshake else "wrong"
                    self._answer(200, token.encode(), "text/plain")
                    return
                with receiver._arrived:
                    receiver.notifications.append(json.loads(raw))
                    receiver._arrived.notify_all()
                self._answer(receiver.status, b"", "text/plain")

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.notifications) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.notifications)} notifications arrived, wanted {count}")
                self._arrived.wait(left)
            return list(self.notifications)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
