"""Reading an import's file: its rows parsed a chunk ahead of the writer (processing.py), and
the duplicate rows within one file (same NIK or same ID as an earlier row)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from django.conf import settings

from enrolment.imports import layout

_END = object()


def chunks_read_ahead(
    rows: Iterator[list[Any]],
    headers: layout.HeaderMap,
    codes: layout.CodeTables,
    seen: dict[tuple[str, str], int],
    *,
    done: int,
    name: str,
) -> Iterator[list[layout.ParsedRow | None]]:
    """Chunks of parsed rows, read and parsed by a thread one chunk ahead of the writer.

    Reading a spreadsheet is Python work and so is saving a chunk, but a chunk's save spends a
    good part of its time waiting on PostgreSQL (the GIL is free then): parsing the next chunk
    meanwhile hides most of the reading. The queue holds at most two chunks, so memory stays
    bounded by the chunk size, not the file. Rows before `done` (committed by an earlier run)
    are read only to remember their duplicate keys (in `seen`, as `duplicate_of` keeps them).
    """
    size: int = settings.IMPORT_CHUNK_ROWS
    ready: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        chunk: list[layout.ParsedRow | None] = []
        try:
            for index, raw in enumerate(rows, start=1):
                parsed = layout.parse_row(index + 1, raw, headers, codes)
                if index <= done:
                    if parsed is not None:
                        duplicate_of(parsed, seen)  # remember its keys only
                    continue
                chunk.append(parsed)
                if len(chunk) >= size:
                    if not put(chunk):
                        return
                    chunk = []
            if chunk and not put(chunk):
                return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    reader = threading.Thread(target=produce, name=name, daemon=True)
    reader.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()  # the writer failed or finished: the reader stops before the file closes
        reader.join()


def duplicate_of(row: layout.ParsedRow, seen: dict[tuple[str, str], int]) -> int | None:
    """The earlier row this one repeats (same NIK or same ID), else None; records its keys."""
    keys: list[tuple[str, str]] = []
    nik = row.nik
    if len(nik) == 16 and nik.isdigit():
        keys.append(("nik", nik))
    if row.explicit_id:
        keys.append(("id", str(row.worker["id"])))
    for key in keys:
        if key in seen:
            return seen[key]
    for key in keys:
        seen[key] = row.row_number
    return None
