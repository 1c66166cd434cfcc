"""Settings for benchmarks: the real settings plus bench-only URLs (the plain-DRF baseline)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# Benchmarks measure the endpoints, not the throttles.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405
