"""`python -m registry_stub`: the stub as its own process.

Precedence for every setting: command-line flag, then `REGISTRY_STUB_<NAME>` variable, then default.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from registry_stub.app import DEFAULT_API_KEY, DEFAULT_PARTNER_ID
from registry_stub.server import make_server
from registry_stub.settings import ENV_PREFIX, FIELD_TYPES, SettingsError, StubSettings, parse_text, settings_from_env

# The list settings take one value per flag (repeatable) or a comma-separated list.
LIST_FLAGS = {
    "reject_nik_prefixes": "--reject-nik-prefix",
    "reject_niks": "--reject-nik",
    "mismatch_niks": "--mismatch-nik",
}


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    def env(name: str, default: str) -> str:
        return environ.get(ENV_PREFIX + name, default)

    parser = argparse.ArgumentParser(prog="python -m registry_stub", description="BPJSTK central registry stub.")
    parser.add_argument("--host", default=env("HOST", "127.0.0.1"), help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(env("PORT", "8900")), help="0: any free port")
    parser.add_argument("--data-dir", default=env("DATA_DIR", "var/registry-stub"), help="where the SQLite file lives")
    parser.add_argument("--api-key", default=env("API_KEY", DEFAULT_API_KEY))
    parser.add_argument("--partner-id", default=env("PARTNER_ID", DEFAULT_PARTNER_ID))
    parser.add_argument("--port-file", help="write the bound port here once ready (replaced atomically)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request to stderr")
    faults = parser.add_argument_group("faults and rules (also REGISTRY_STUB_<NAME>, and PUT /_stub/faults)")
    for name, kind in FIELD_TYPES.items():
        if kind == "strings":
            faults.add_argument(LIST_FLAGS[name], dest=name, action="append", metavar="VALUE")
        elif kind == "bool":
            faults.add_argument("--" + name.replace("_", "-"), dest=name, action=argparse.BooleanOptionalAction)
        else:
            faults.add_argument("--" + name.replace("_", "-"), dest=name, metavar="SHARE" if kind == "share" else "N")
    return parser


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> StubSettings:
    """Raises SettingsError naming the bad flag or variable."""
    values: dict[str, Any] = settings_from_env(environ)
    for name in FIELD_TYPES:
        given = getattr(args, name)
        if given is None:
            continue
        if isinstance(given, list):
            given = ",".join(given)
        values[name] = given if isinstance(given, bool) else parse_text(name, given)
    return StubSettings.from_mapping(values)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    parser = build_parser(environ)
    args = parser.parse_args(argv)
    try:
        settings = settings_from(args, environ)
    except SettingsError as problem:
        parser.error(str(problem))
    port_file = Path(args.port_file) if args.port_file else None
    if port_file is not None:
        # A file left by a killed predecessor must not announce a port nobody listens on. (A
        # waiter may still see it before this line runs: delete it before starting the stub.)
        port_file.unlink(missing_ok=True)
    server, store = make_server(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        partner_id=args.partner_id,
        settings=settings,
        log_requests=not args.quiet,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it cannot run on serve_forever's thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    address, port = server.server_address[:2]
    host = address if isinstance(address, str) else address.decode()  # TCP: always text
    # The socket listens already (connections queue until serve_forever). Port file first, then
    # the readiness line: whoever sees the line can read the file and find this run's port.
    if port_file is not None:
        temporary = port_file.with_name(port_file.name + ".tmp")
        temporary.write_text(f"{port}\n")
        temporary.replace(port_file)
    sys.stdout.write(
        f"registry-stub ready url=http://{host}:{port} port={port} data_dir={store.path.parent} pid={os.getpid()}\n"
    )
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        server.app.stopping.set()
        server.close_connections()
        server.server_close()
        store.close()
        if port_file is not None:
            port_file.unlink(missing_ok=True)
    return 0
