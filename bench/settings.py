"""Settings for benchmarks: the real settings plus bench-only URLs (the plain-DRF baseline).

BENCH_PII=off (bench/pii_overhead.py's baseline) measures the same code without encryption:
tokens are the plain values and blind indexes a plain hex of them, so the figures with
encryption on can be compared in one run. Never used outside benchmarks.
"""

import os

# Benchmarks run with DATABASE_URL set, so the personal-data keys must be there (public, bench-only).
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWstMDA=")
os.environ.setdefault("BLIND_INDEX_KEY", "YmVuY2gtb25seS1ibGluZC1pbmRleC1rZXktMDEyMzQ=")

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# Benchmarks measure the endpoints, not the throttles.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405

if os.environ.get("BENCH_PII") == "off":
    import config.pii as _pii

    _pii.encrypt = lambda text: text
    _pii.decrypt = lambda token: token
    _pii.blind_index = lambda value, *, purpose: _pii.normalise(value).encode().hex()[:32]
