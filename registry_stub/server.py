"""The stub over real HTTP: a ThreadingHTTPServer around RegistryApp.

`start_in_thread(...)` runs it inside a test process; `python -m registry_stub` runs it alone.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from registry_stub.app import DEFAULT_API_KEY, DEFAULT_PARTNER_ID, RegistryApp, Request, Response, error
from registry_stub.settings import StubSettings
from registry_stub.store import RegistryStore
from registry_stub.validation import MAX_BODY_BYTES

# Bodies up to this size are read (and thrown away when too large) so that the client gets its
# 400 instead of a reset connection; beyond it the stub answers and closes.
DRAIN_LIMIT_BYTES = 8 * MAX_BODY_BYTES


class StubHTTPServer(ThreadingHTTPServer):
    # Handler threads are daemons (ThreadingHTTPServer's default) and the open connections are
    # tracked, so stop() can close keep-alive connections instead of waiting for clients.
    def __init__(self, address: tuple[str, int], app: RegistryApp, *, log_requests: bool) -> None:
        self.app = app
        self.log_requests = log_requests
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, StubHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its own thread
                connection.shutdown(socket.SHUT_RDWR)


class StubHandler(BaseHTTPRequestHandler):
    server: StubHTTPServer
    # HTTP/1.1 keep-alive like a real API gateway: a dropped answer then reaches a client on a
    # pooled connection, the case an HTTP client library handles worst.
    protocol_version = "HTTP/1.1"
    server_version = "registry-stub/1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms per answer), which would swamp the benchmarks' 50 ms latency setting.
    disable_nagle_algorithm = True
    # An idle keep-alive connection is closed after this many seconds.
    timeout = 120

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        body = self._read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        request = Request(
            method=method,
            path=url.path,
            query=parse_qs(url.query),
            headers=self.headers,
            body=body,
            client_host=self.client_address[0],
        )
        try:
            response = self.server.app.handle(request)
        except Exception:
            # Left to socketserver, a bug would close the connection silently and pass for an
            # injected lost answer; a 500 with a traceback on stderr cannot be mistaken for one.
            traceback.print_exc()
            response = error(500, "stub_internal_error", "The registry stub failed; see its stderr.")
        self._send(response)

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering a body the stub will not read."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            self._send(error(400, "length_required", "Send the body with a Content-Length."))
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > DRAIN_LIMIT_BYTES:
            self.close_connection = True
            self._send(error(400, "batch_too_large", f"At most {MAX_BODY_BYTES} bytes are accepted."))
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response) -> None:
        stopping = self.server.app.stopping
        if response.deliver == "hang":
            stopping.wait(response.hang_seconds)
        if response.deliver in ("drop", "hang"):
            # No status line, no byte: the client sees the connection end without an answer.
            self.close_connection = True
            return
        if response.delay_seconds:
            stopping.wait(response.delay_seconds)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log_requests:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


class RunningStub:
    """A stub serving on its own thread; `stop()` (or leaving the `with` block) shuts it down."""

    def __init__(self, server: StubHTTPServer, store: RegistryStore) -> None:
        self.server = server
        self.store = store
        self.app = server.app
        host, self.port = server.server_address[:2]
        self.host = host if isinstance(host, str) else host.decode()  # TCP: always text
        self.url = f"http://{self.host}:{self.port}"
        # A short poll interval: stop() waits up to one interval, and tests stop a stub each.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"registry-stub-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.app.stopping.set()
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        self._thread.join()
        self.store.close()

    def __enter__(self) -> RunningStub:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def make_server(
    *,
    data_dir: Path | str,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str = DEFAULT_API_KEY,
    partner_id: str = DEFAULT_PARTNER_ID,
    settings: StubSettings | None = None,
    log_requests: bool = False,
) -> tuple[StubHTTPServer, RegistryStore]:
    """A bound, listening server (port 0: any free port) over the state in `data_dir`."""
    store = RegistryStore(Path(data_dir))
    app = RegistryApp(store, api_key=api_key, partner_id=partner_id, settings=settings or StubSettings())
    try:
        server = StubHTTPServer((host, port), app, log_requests=log_requests)
    except OSError:
        store.close()
        raise
    return server, store


def start_in_thread(
    *,
    data_dir: Path | str,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str = DEFAULT_API_KEY,
    partner_id: str = DEFAULT_PARTNER_ID,
    settings: StubSettings | None = None,
    log_requests: bool = False,
) -> RunningStub:
    """A stub serving in this process, already accepting connections at `.url`."""
    server, store = make_server(
        data_dir=data_dir,
        host=host,
        port=port,
        api_key=api_key,
        partner_id=partner_id,
        settings=settings,
        log_requests=log_requests,
    )
    return RunningStub(server, store)
