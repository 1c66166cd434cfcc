"""The stub's behaviour settings: injected faults and rejection rules.

One frozen dataclass is the single source of truth: the CLI flags (`--error-5xx`), the
environment variables (`REGISTRY_STUB_ERROR_5XX`) and the control API (`PUT /_stub/faults`)
are all derived from its fields, so a new knob is added in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

ENV_PREFIX = "REGISTRY_STUB_"

# Faults that replace the normal answer. They exclude each other: one uniform draw per request
# picks at most one of them, so their shares must add up to at most 1.
FAILURE_FAULTS = ("error_5xx", "rate_limit_429", "timeout", "drop_after_process")
# Faults that change how a normal answer is delivered; each has its own independent draw.
MODIFIER_FAULTS = ("slow", "async_202")
# Faults of the status-change feed, each with its own draw per page request: a 503 without an
# answer, or the page answered with `next_cursor` = `since` and `has_more` true, so that the
# client reads the same page again (a feed that delivers at least once).
CHANGES_FAULTS = ("changes_error_5xx", "changes_repeat")
FAULT_KINDS = FAILURE_FAULTS + MODIFIER_FAULTS + CHANGES_FAULTS


class SettingsError(ValueError):
    """A settings value or key the stub cannot use; the message says which."""


@dataclasses.dataclass(frozen=True)
class StubSettings:
    # Shares 0..1, drawn per request to POST /v1/batches and GET /v1/batches/{id}.
    error_5xx: float = 0.0  # 500/502/503 without processing
    rate_limit_429: float = 0.0  # 429 with Retry-After, without processing
    timeout: float = 0.0  # hang `timeout_seconds`, then close without an answer
    drop_after_process: float = 0.0  # process and store, then close without an answer
    slow: float = 0.0  # process, sleep `slow_seconds`, then answer
    async_202: float = 0.0  # answer 202 processing; completed after `async_polls` polls
    # Shares drawn per request to GET /v1/participants/changes.
    changes_error_5xx: float = 0.0  # 503 without reading the feed
    changes_repeat: float = 0.0  # the page, but with next_cursor = since and has_more true
    retry_after_seconds: int = 1
    slow_seconds: float = 2.0
    timeout_seconds: float = 30.0
    # The hard, realistic case: the registry did the work, the client never learns it.
    timeout_processes: bool = True
    async_polls: int = 2
    async_seconds: float = 0.0
    # Added to every /v1 call (benchmarks use 50 ms).
    latency_ms: int = 0
    # Deterministic rejections: "NIK not found at Dukcapil".
    reject_nik_prefixes: tuple[str, ...] = ()
    reject_niks: tuple[str, ...] = ()
    # Deterministic rejections: "name or birth date differ from Dukcapil's record".
    mismatch_niks: tuple[str, ...] = ()
    # Seeds the fault RNG so a run can be replayed; None: seeded from the OS.
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in FAULT_KINDS:
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise SettingsError(f"{name} must be a share between 0 and 1, got {share}")
        total = sum(getattr(self, name) for name in FAILURE_FAULTS)
        if total > 1.0 + 1e-9:
            raise SettingsError(f"{' + '.join(FAILURE_FAULTS)} must add up to at most 1, got {total:g}")
        for name in ("retry_after_seconds", "slow_seconds", "timeout_seconds", "async_polls", "async_seconds"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must not be negative")
        if self.latency_ms < 0:
            raise SettingsError("latency_ms must not be negative")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["reject_nik_prefixes"] = list(self.reject_nik_prefixes)
        data["reject_niks"] = list(self.reject_niks)
        data["mismatch_niks"] = list(self.mismatch_niks)
        return data

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base: StubSettings | None = None) -> StubSettings:
        """Settings from JSON-like values, on top of `base` (defaults when None).

        Raises SettingsError for an unknown key or a value of the wrong type.
        """
        fields = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise SettingsError(f"unknown settings: {', '.join(unknown)}")
        values = (base or cls()).to_dict()
        for name, raw in data.items():
            values[name] = _coerce(name, FIELD_TYPES[name], raw)
        return cls(**values)

    def is_mismatch(self, nik: str) -> bool:
        return nik in self.mismatch_niks

    def is_rejected(self, nik: str) -> bool:
        return nik in self.reject_niks or any(nik.startswith(prefix) for prefix in self.reject_nik_prefixes)


# Declared once by hand rather than read from the annotations: with postponed evaluation those
# are strings, and this table is what the CLI, the environment and the JSON parser agree on.
FIELD_TYPES: dict[str, str] = {
    **dict.fromkeys(FAULT_KINDS, "share"),
    "retry_after_seconds": "int",
    "slow_seconds": "float",
    "timeout_seconds": "float",
    "timeout_processes": "bool",
    "async_polls": "int",
    "async_seconds": "float",
    "latency_ms": "int",
    "reject_nik_prefixes": "strings",
    "reject_niks": "strings",
    "mismatch_niks": "strings",
    "seed": "optional_int",
}


def _coerce(name: str, kind: str, raw: Any) -> Any:
    """One JSON value to the field's type; booleans are refused where numbers are expected."""
    if kind in ("share", "float"):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise SettingsError(f"{name} must be a number")
        return float(raw)
    if kind == "int" or (kind == "optional_int" and raw is not None):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise SettingsError(f"{name} must be an integer")
        return raw
    if kind == "optional_int":
        return None
    if kind == "bool":
        if not isinstance(raw, bool):
            raise SettingsError(f"{name} must be true or false")
        return raw
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise SettingsError(f"{name} must be a list of strings")
    return tuple(raw)


def parse_text(name: str, text: str) -> Any:
    """A value written on a command line or in an environment variable, as its JSON equivalent."""
    kind = FIELD_TYPES[name]
    try:
        if kind in ("share", "float"):
            return float(text)
        if kind == "int":
            return int(text)
        if kind == "optional_int":
            return int(text) if text.strip() else None
    except ValueError as error:
        raise SettingsError(f"{name}: {text!r} is not a number") from error
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered not in ("1", "0", "true", "false", "yes", "no"):
            raise SettingsError(f"{name}: {text!r} is not true or false")
        return lowered in ("1", "true", "yes")
    return [item.strip() for item in text.split(",") if item.strip()]


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings present as `REGISTRY_STUB_<NAME>` variables (lists comma-separated)."""
    found: dict[str, Any] = {}
    for name in FIELD_TYPES:
        text = environ.get(ENV_PREFIX + name.upper())
        if text is not None:
            found[name] = parse_text(name, text)
    return found
