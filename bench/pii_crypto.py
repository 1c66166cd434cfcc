"""Benchmark: config/pii.py's own cost per worker, in one process (no HTTP, no database).

Per written worker, what a bulk save asks of it (POST /workers/bulk through villages/upsert.py's
records_save): the blind index of the NIK for the lock, of the NIK, its first 12 digits, the KK
and the phone for the duplicate finder, of the NIK, KK and phone for the row's columns, and 5
encryptions (NIK, KK, phone, mother's maiden name, heirs). Per read worker (a sync pull): those 5
decryptions. A shared machine's load moves faster than bench/pii_overhead.py's end-to-end runs, so
this measures the crypto alone, `--against DIR` (another checkout's config/pii.py, e.g. the code
before a change) interleaved with this one: both see the same load. Best of --rounds.

Usage: .venv/bin/python bench/pii_crypto.py [--workers 1000] [--rounds 9] [--against DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_other(directory: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("other_pii", directory / "config" / "pii.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["other_pii"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--against", type=Path, help="Another checkout whose config/pii.py is measured too.")
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from bench.bulk_ingest import records
    from config import pii

    modules = {"this": pii}
    if args.against:
        modules["against"] = load_other(args.against.resolve())
    rows = records(args.workers)
    people = [
        (r["nik"], r["kk_number"], "+62" + r["phone"][1:], r["mother_maiden_name"], json.dumps(r["heirs"]))
        for r in rows
    ]
    tokens = [[pii.encrypt(v) for v in person] for person in people]

    def write(module: ModuleType) -> None:
        memo = getattr(module, "blind_index_memo", contextlib.nullcontext)
        index = module.blind_index
        with memo():
            for nik, kk, phone, mother, heirs in people:
                index(nik, purpose="nik")  # the NIK lock
                for value, purpose in ((nik, "nik"), (nik[:12], "nik-region-date"), (kk, "kk"), (phone, "phone")):
                    index(value, purpose=purpose)  # the duplicate finder's keys
                for value, purpose in ((nik, "nik"), (kk, "kk"), (phone, "phone")):
                    index(value, purpose=purpose)  # the row's columns
                for value in (nik, kk, phone, mother, heirs):
                    module.encrypt(value)

    def read(module: ModuleType) -> None:
        for person in tokens:
            for token in person:
                module.decrypt(token)

    best: dict[tuple[str, str], float] = {}
    for _ in range(args.rounds):
        for name, module in modules.items():
            step: Callable[[ModuleType], None]
            for what, step in (("written", write), ("read", read)):
                started = time.perf_counter()
                step(module)
                per_worker = (time.perf_counter() - started) / len(people) * 1e6
                best[(name, what)] = min(best.get((name, what), per_worker), per_worker)
    print(f"config/pii.py per worker, best of {args.rounds}, load (1 min) {os.getloadavg()[0]:.2f}")
    for name in modules:
        label = "this checkout" if name == "this" else str(args.against)
        print(f"{label:<30} written {best[(name, 'written')]:6.1f} µs   read {best[(name, 'read')]:6.1f} µs")


if __name__ == "__main__":
    main()
