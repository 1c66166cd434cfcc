"""The start-up the HTTP benchmarks share: a fresh database with the areas, an officer with a
device token, and the service under gunicorn on a free port.

The benchmark process itself uses Django too (to empty tables, count rows, mint tokens), against
the same database as the server it starts, so both read one environment: `django_env` builds it
and applies it to this process before `django.setup()`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_SHARED = ("DATABASE_URL", "DJANGO_SECRET_KEY", "DJANGO_SETTINGS_MODULE", "LOG_LEVEL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def django_env(database_url: str) -> dict[str, str]:
    """Drops and recreates `database_url`, sets Django up in this process against it (migrated,
    the province 17 areas loaded) and returns the environment for the servers to start.

    No REDIS_URL, in either: tasks run in-process, so a figure never waits on a broker.
    """
    from bench.load_areas import recreate_database

    recreate_database(database_url)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghij",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    os.environ.update({k: env[k] for k in _SHARED})
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_areas", province="17", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return env


def field_officer(village: str, *, password: str | None = None):
    """The benchmarks' field officer, assigned to `village`, and a device token for them.
    With `password` it is also their password (the project's real hasher, so ODK's Digest
    credential is kept too)."""
    from tests.factories import token_for
    from villages.models import Assignment, Role, User

    officer, _ = User.objects.get_or_create(username="bench-officer", defaults={"role": Role.FIELD_OFFICER})
    if password is not None:
        officer.set_password(password)
        officer.save()
    Assignment.objects.get_or_create(user=officer, area_id=village)
    return officer, token_for(officer, device_id="bench")


@contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[str]:
    """The service under gunicorn (one worker) with `env`; yields its base URL once /healthz
    answers (or after about 20 s of trying) and stops the server on the way out."""
    with gunicorn_process(env) as (base, _process):
        yield base


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc/<pid>/stat), in seconds;
    0.0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    # After the command name: state is field 3 of stat(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The ids of the processes whose parent is `pid` (gunicorn's workers of its master)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


@contextmanager
def gunicorn_process(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As `gunicorn`, yielding the base URL and the master process (its worker is a child)."""
    import httpx

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--log-level", "warning",
         # A loaded machine (shared cores) can take longer than gunicorn's 30 s per request.
         "--timeout", "300"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base, process
    finally:
        process.terminate()
        process.wait(10)
