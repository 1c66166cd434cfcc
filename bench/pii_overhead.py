"""Benchmark: what encryption at rest costs the bulk ingest and the sync pull (issue 13).

Runs bench/bulk_ingest.py and bench/sync_pull.py twice each in one run on the same machine:
with encryption (the service as deployed) and without it (BENCH_PII=off: the same code with
tokens equal to the plain values, bench/settings.py), alternating off and on --rounds times and
keeping each mode's best figure, and compares them.
Target: throughput and latency with encryption within 15 % of the figures without it.

Usage: .venv/bin/python bench/pii_overhead.py [--records 10000] [--village-workers 3000]
       [--small 10000] [--large 50000] [--repeat 5] [--rounds 2] [--against DIR]
Uses the benchmarks' own databases (BENCH_DATABASE_URL of each, dropped and recreated).
--against DIR also runs, in each round, the benchmarks of another checkout with encryption on
(e.g. `git worktree add /tmp/before <commit>`, its .venv linked): a change's before and after
against the same baseline, in one run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(script: str, mode: str, *args: str, root: Path = ROOT) -> str:
    env = {**os.environ, "BENCH_PII": mode}
    result = subprocess.run(
        [sys.executable, str(root / "bench" / script), *args], cwd=root, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"{script} ({mode}) failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def service_rate(output: str) -> float:
    match = re.search(r"^service\s+([\d,]+)", output, re.MULTILINE)
    assert match, output
    return float(match.group(1).replace(",", ""))


def pull_ms(output: str) -> dict[str, float]:
    found = {}
    for label, pattern in (
        ("first pull (small db)", r"^first pull .*? in db\s+([\d.]+) ms\s+\(target"),
        ("first pull (large db)", r"^first pull\s+same village.*?([\d.]+) ms"),
        ("incremental (large db)", r"^incremental .*? workers in db\s+([\d.]+) ms\s+\(target"),
    ):
        match = re.search(pattern, output, re.MULTILINE)
        assert match, output
        found[label] = float(match.group(1))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--village-workers", type=int, default=3_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="Alternations of off and on; the best of each kept.")
    parser.add_argument("--against", type=Path, help="Another checkout, also measured with encryption on.")
    args = parser.parse_args()
    bulk_args = ["--records", str(args.records), "--repeat", str(args.repeat)]
    pull_args = [
        "--village-workers", str(args.village_workers), "--small", str(args.small),
        "--large", str(args.large), "--repeat", str(args.repeat),
    ]  # fmt: skip

    # Alternated, each mode --rounds times, the best figure of each kept: on a shared machine the
    # load moves between runs, and the best run is the one least disturbed by it.
    rates: dict[str, float] = {}
    pulls: dict[str, dict[str, float]] = {}
    runs = [("off", "off", ROOT), ("on", "on", ROOT)]
    if args.against:
        runs.insert(1, ("against", "on", args.against.resolve()))
    for round_ in range(args.rounds):
        # Each round starts with the next mode: the bulk ingest figures fell in the order off < before <
        # after in every run of a fixed order, so the place in a round weighs (whatever the cause).
        shift = round_ % len(runs)
        for name, mode, root in runs[shift:] + runs[:shift]:
            rates[name] = max(rates.get(name, 0.0), service_rate(run("bulk_ingest.py", mode, *bulk_args, root=root)))
            measured = pull_ms(run("sync_pull.py", mode, *pull_args, root=root))
            pulls[name] = {k: min(v, pulls.get(name, {}).get(k, v)) for k, v in measured.items()}

    print(f"machine load (1 min): {os.getloadavg()[0]:.2f}")
    print(f"{'measure':<34} {'without':>10} {'with':>10} {'ratio':>7}")
    ok = True
    ratio = rates["off"] / rates["on"]
    ok &= ratio <= 1.15
    print(f"{'bulk ingest, records/s':<34} {rates['off']:>10,.0f} {rates['on']:>10,.0f} {ratio:>7.2f}")
    for label, off in pulls["off"].items():
        on = pulls["on"][label]
        ratio = on / off
        ok &= ratio <= 1.15
        print(f"{label + ', ms':<34} {off:>10.1f} {on:>10.1f} {ratio:>7.2f}")
    print(f"target (with encryption within 15 %): {'met' if ok else 'MISSED'}")
    if args.against:
        print(f"with encryption, {args.against} (same run, same baseline):")
        print(f"{'bulk ingest, records/s':<34} {rates['off']:>10,.0f} {rates['against']:>10,.0f} "
              f"{rates['off'] / rates['against']:>7.2f}")  # fmt: skip
        for label, off in pulls["off"].items():
            on = pulls["against"][label]
            print(f"{label + ', ms':<34} {off:>10.1f} {on:>10.1f} {on / off:>7.2f}")


if __name__ == "__main__":
    main()
