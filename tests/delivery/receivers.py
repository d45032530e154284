"""Real HTTP receivers for push-delivery tests (a county system's endpoint, misbehaving on
purpose): each is a ThreadingHTTPServer on a loopback port recording what reached it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    """How the receiver answers: ``fail_first`` answers 503 to the first N requests of
    each message; ``status`` (with ``retry_after``) answers that to everything; ``hang_s``
    sleeps before answering 200; ``down`` closes connections without answering;
    ``fail_ids`` overrides ``fail_first`` for the message ids it names."""

    fail_first: int = 0
    status: int = 200
    retry_after: str | None = None
    hang_s: float = 0.0
    down: bool = False
    fail_ids: dict[str, int] = field(default_factory=dict)  # message id → 503s before answering


@dataclass
class Receiver:
    url: str
    behaviour: Behaviour
    hits: list[tuple[float, str, str]] = field(default_factory=list)  # (time, id, delivery id)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, message_id: str) -> list[float]:
        with self.lock:
            return [t for t, mid, _d in self.hits if mid == message_id]

    def ids(self) -> set[str]:
        with self.lock:
            return {mid for _t, mid, _d in self.hits}

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.ids()) >= count:
                return True
            time.sleep(0.05)
        return False


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog of 5 drops connections when a worker opens 32
    request_queue_size = 128


@contextmanager
def receiver(behaviour: Behaviour | None = None) -> Iterator[Receiver]:
    state = Receiver("", behaviour or Behaviour())
    per_message: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # silence the access log
            return

        def do_POST(self) -> None:  # http.server naming
            b = state.behaviour
            if b.down:
                self.close_connection = True
                self.connection.close()
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            message_id = json.loads(body)["message_id"]
            with state.lock:
                state.hits.append(
                    (time.monotonic(), message_id, self.headers.get("Gateway-Delivery-Id", ""))
                )
                per_message[message_id] = per_message.get(message_id, 0) + 1
                nth = per_message[message_id]
            if b.hang_s:
                time.sleep(b.hang_s)
            status = 503 if nth <= b.fail_ids.get(message_id, b.fail_first) else b.status
            self.send_response(status)
            if b.retry_after is not None and status == 429:
                self.send_header("Retry-After", b.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as url:
        state.url = url
        yield state


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` on a loopback port in a thread; yields the endpoint URL to register."""
    server = _Server(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/gateway/inbox"
    finally:
        server.shutdown()
        server.server_close()
