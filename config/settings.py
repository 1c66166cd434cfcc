"""Settings, read only from the environment (see .env.example for every variable).

Two modes, chosen by what is set:
- embedded (nothing set): a SQLite file, Celery tasks run in-process, a local-memory cache.
  For a first look or a single-village pilot.
- production and tests: DATABASE_URL (PostgreSQL) and REDIS_URL (Celery broker and the cache).
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab

from config.logs import logging_config
from config.queues import route_task, task_queues

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file is a convenience for development; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    # Only the embedded mode may run without a secret; anything with a real database must set one.
    default="insecure-embedded-only-" + "x" * 40 if not env.str("DATABASE_URL", default="") else environ.Env.NOTSET,
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "villages",
    "workers",
    "enrolment",
    "enrolment.registry",
    "enrolment.imports",
    "enrolment.sync",
    "enrolment.reports",
    "enrolment.funding",
]

MIDDLEWARE = [
    "config.requestid.RequestIdMiddleware",
    "config.metrics.MetricsMiddleware",
    "config.replicas.ReplicaMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "villages.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(BASE_DIR / "var" / "db.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so concurrent requests wait (up to the
                # timeout) instead of failing with "database is locked" halfway through.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and the shared cache (login throttling lives there) ----------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="desa"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery's own settings are in one block below ("Celery").
# How long readyz waits for the broker before calling it down.
BROKER_CHECK_TIMEOUT = env.float("BROKER_CHECK_TIMEOUT", default=2.0)

# --- Auth ------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
KNOX_TOKEN_MODEL = "villages.DeviceToken"
# knox's own AuthToken is swapped for villages.DeviceToken, but knox's migrations would still
# create its table, with a foreign key to users that makes TRUNCATE (manage.py flush, and every
# transactional test) fail. Its migrations are switched off: no table, nothing lost.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    # Field devices stay offline for days; a token lasts a work fortnight by default.
    "TOKEN_TTL": timedelta(hours=env.int("TOKEN_TTL_HOURS", default=24 * 14)),
    "AUTH_HEADER_PREFIX": "Token",
}
# Failed logins allowed per window before 429, per username from one client address and per
# client address; per username from anywhere only a backoff (villages/auth.py LoginGuard).
LOGIN_FAILURES_PER_USERNAME = env.int("LOGIN_FAILURES_PER_USERNAME", default=5)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
LOGIN_USERNAME_BACKOFF_AFTER = env.int("LOGIN_USERNAME_BACKOFF_AFTER", default=10)
LOGIN_USERNAME_BACKOFF_MAX_SECONDS = env.int("LOGIN_USERNAME_BACKOFF_MAX_SECONDS", default=60)
# Reverse proxies in front of the app; the client address is taken that many hops back in
# X-Forwarded-For (0: REMOTE_ADDR, the safe default when nothing sits in front).
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
# A device's last_seen_at is written at most this often, so requests do not each cost a write.
DEVICE_SEEN_WRITE_INTERVAL = timedelta(seconds=env.int("DEVICE_SEEN_WRITE_INTERVAL_SECONDS", default=300))

# --- Limits ------------------------------------------------------------------------------------
# JSON bodies (a bulk of 1,000 workers is about 1.5 MB); uploads (imports) get their own limit.
MAX_JSON_BODY_BYTES = env.int("MAX_JSON_BODY_BYTES", default=8 * 1024 * 1024)
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=64 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_JSON_BODY_BYTES
# An upload (an import's file: personal data) is held in memory, never spooled by Django to a
# plaintext temporary file; it is stored sealed (enrolment/imports/uploads.py). MAX_UPLOAD_BYTES
# (the body limit, config/middleware.py) bounds it.
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES

# --- REST framework ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "villages.auth.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.handlers.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/min"),
        "user": env.str("THROTTLE_USER", default="1200/min"),
    },
    # 0 must stay 0: DRF reads None as "trust the client's X-Forwarded-For", which would let anyone
    # pick the address the login throttle counts and the audit log records.
    "NUM_PROXIES": NUM_PROXIES,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": False,
}

SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Village enrolment API",
    "DESCRIPTION": (
        "Backend for enrolling Indonesian village workers in BPJS Ketenagakerjaan: field app, "
        "village admin panel and registry sync. Every error uses one envelope: "
        '`{"error": {"code", "message", "details"}}`; the codes are listed in the ErrorCode enum.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.add_error_components",
    ],
}

# --- Internationalisation: Indonesian by default, English on Accept-Language: en -------------
LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
# One catalogue per area of the product (locale/<area>/id/LC_MESSAGES) beside the base one, so
# parallel work on different areas never edits the same .po; Django merges them at run time.
LOCALE_PATHS = [
    BASE_DIR / "locale",
    *sorted(p for p in (BASE_DIR / "locale").iterdir() if p.is_dir() and p.name not in {"id", "en"}),
]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

# --- Static files (admin, API docs) served by WhiteNoise ---------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))

# --- Security (secure defaults; the embedded mode runs over plain HTTP on localhost) -----------
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "config.handlers.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if NUM_PROXIES else None
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Enrolment rules (DOMAIN.md: reported figures, kept as settings an operator can correct) ---
ENROLMENT_MIN_AGE = env.int("ENROLMENT_MIN_AGE", default=15)
ENROLMENT_MAX_AGE = env.int("ENROLMENT_MAX_AGE", default=65)
# Records per bulk request (workers/bulk, enrolments/bulk).
BULK_MAX_RECORDS = env.int("BULK_MAX_RECORDS", default=1000)

# --- Cross-app rules -------------------------------------------------------------------------------
# Who answers what worker writes ask of enrolments (workers/rules.py): the one provider.
WORKERS_ENROLMENT_RULES = "enrolment.services.worker_rules.EnrolmentWorkerRules"

# --- Areas ------------------------------------------------------------------------------------
# The decree the packaged Kemendagri data comes from, recorded on every imported area.
AREAS_SOURCE_DECREE = env.str("AREAS_SOURCE_DECREE", default="Kepmendagri 300.2.2-2138/2025")

# --- Central registry (BPJSTK) sync: enrolment/registry ----------------------------------------
# REGISTRY_URL empty: the sync is off (nothing is claimed). scripts/run points it at the bundled stub.
REGISTRY_URL = env.str("REGISTRY_URL", default="")
REGISTRY_PARTNER_ID = env.str("REGISTRY_PARTNER_ID", default="")
REGISTRY_API_KEY = env.str("REGISTRY_API_KEY", default="")
# Every call has both: the registry can be slow, down, or process a batch and lose the answer.
REGISTRY_CONNECT_TIMEOUT = env.float("REGISTRY_CONNECT_TIMEOUT", default=5.0)
REGISTRY_READ_TIMEOUT = env.float("REGISTRY_READ_TIMEOUT", default=60.0)
# Records per batch: REGISTRY.md allows at most 1,000 (and 5 MB).
REGISTRY_BATCH_SIZE = min(env.int("REGISTRY_BATCH_SIZE", default=1000), 1000)
# Batches claimed per periodic cycle (the nightly full pass claims everything).
REGISTRY_BATCHES_PER_CYCLE = env.int("REGISTRY_BATCHES_PER_CYCLE", default=20)
# Transient failures (5xx, timeouts, 429, lost answers) retried per batch before it is failed and
# left to an operator; the delay doubles from the base up to the max, with jitter, and is never
# shorter than the registry's Retry-After.
REGISTRY_MAX_RETRIES = env.int("REGISTRY_MAX_RETRIES", default=10)
REGISTRY_RETRY_BASE_SECONDS = env.float("REGISTRY_RETRY_BASE_SECONDS", default=30.0)
REGISTRY_RETRY_MAX_SECONDS = env.float("REGISTRY_RETRY_MAX_SECONDS", default=1800.0)
# A Retry-After above this is treated as this (a hostile or broken header must not park a batch).
REGISTRY_RETRY_AFTER_MAX_SECONDS = env.float("REGISTRY_RETRY_AFTER_MAX_SECONDS", default=3600.0)
# After a 202, how long to wait between polls.
REGISTRY_POLL_SECONDS = env.float("REGISTRY_POLL_SECONDS", default=10.0)
# How long a worker holds a batch while sending it; longer than one call can take, so only a dead
# or stuck worker loses it. The sweeper then makes the batch due again (same id, same body).
REGISTRY_LEASE_SECONDS = env.float(
    "REGISTRY_LEASE_SECONDS", default=REGISTRY_CONNECT_TIMEOUT + 2 * REGISTRY_READ_TIMEOUT + 30
)
# Status changes fetched per page by the reconciliation, and pages per run at most.
REGISTRY_CHANGES_PAGE_SIZE = env.int("REGISTRY_CHANGES_PAGE_SIZE", default=500)
REGISTRY_RECONCILE_MAX_PAGES = env.int("REGISTRY_RECONCILE_MAX_PAGES", default=10_000)
# "Sync now" requests within this many seconds of each other start one cycle.
REGISTRY_SYNC_NOW_COALESCE_SECONDS = env.int("REGISTRY_SYNC_NOW_COALESCE_SECONDS", default=10)
# Beat: a cycle every few minutes (it does nothing when there is no work), the nightly full pass
# and the nightly reconciliation (hours in Asia/Jakarta).
REGISTRY_SYNC_INTERVAL_SECONDS = env.float("REGISTRY_SYNC_INTERVAL_SECONDS", default=180.0)
REGISTRY_FULL_PASS_HOUR = env.int("REGISTRY_FULL_PASS_HOUR", default=23)
REGISTRY_RECONCILE_HOUR = env.int("REGISTRY_RECONCILE_HOUR", default=2)

# Two "status" fields with different choices in the OpenAPI schema: name the batch's explicitly.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["RegistryBatchStatusEnum"] = (
    "enrolment.registry.models.BatchStatus"
)

# Log lines carry the request id and never a NIK or a phone number (config/logs.py); JSON lines
# with LOG_FORMAT=json. Celery's worker logs through the same configuration.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = logging_config(fmt=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))

# --- Panel: imports, exports, reports (issue 6) -------------------------------------------------
# How often the coverage report's running counts (enrolment/reports/models.py) are folded (beat).
COVERAGE_COMPACT_SECONDS = env.int("COVERAGE_COMPACT_SECONDS", default=600)
# Rows per import transaction: each chunk goes through workers_save/enrolments_save at once.
IMPORT_CHUNK_ROWS = env.int("IMPORT_CHUNK_ROWS", default=1000)
# An import job's `status` is not an enrolment's: name both enums in the OpenAPI schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {"ImportStatusEnum": "enrolment.imports.models.ImportStatus", "EnrolmentStatusEnum": "enrolment.models.Status"}
)

# --- Offline sync (issue 4) -----------------------------------------------------------------------
# How long a pull's snapshot (the cursor a device holds) is kept. A device that comes back after
# longer gets a full pull: everything it may see again, though not the deletions it missed.
SYNC_SNAPSHOT_RETENTION_DAYS = env.int("SYNC_SNAPSHOT_RETENTION_DAYS", default=180)

# --- Personal data: encryption at rest and the blind index (issue 13, config/pii.py) -------------
# Each key is 32 random bytes in URL-safe base64. FIELD_ENCRYPTION_KEYS: comma-separated, the first
# encrypts, all decrypt (rotation: put the new key first, run `manage.py reencrypt`, then drop the
# old one). BLIND_INDEX_KEY: the exact-match index (NIK uniqueness, search by NIK), never rotated
# with them. Missing or malformed keys stop every process at start (workers/apps.py). The embedded
# demo (no DATABASE_URL) with neither set makes its own under var/, so ./scripts/run needs nothing.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
BLIND_INDEX_KEY = env.str("BLIND_INDEX_KEY", default="")
if not DATABASE_URL and not FIELD_ENCRYPTION_KEYS and not BLIND_INDEX_KEY:
    from config.pii import embedded_keys

    FIELD_ENCRYPTION_KEYS, BLIND_INDEX_KEY = embedded_keys(
        Path(env.str("PII_KEY_FILE", default=str(BASE_DIR / "var" / "pii-keys.json")))
    )
# Bulk-access alarm: a user who sees full NIKs of, or exports, more people than this in one clock
# hour is logged at WARNING and an `alarm` audit event is written (0: off).
BULK_ACCESS_ALARM_PEOPLE_PER_HOUR = env.int("BULK_ACCESS_ALARM_PEOPLE_PER_HOUR", default=1000)

# --- Robustness: locks, database refusals, jobs, logs, hostile input (issue 11, docs/hard.md) ---
# Advisory lock buckets per namespace (config/locks.py): a transaction holds at most this many
# advisory locks per namespace, whatever its size. More buckets: less false sharing between
# writers of different keys, more locks per big transaction.
LOCK_BUCKETS = env.int("LOCK_BUCKETS", default=16)
# Seconds a client is told to wait (Retry-After) when the database refuses for load: lock table
# full, lock or statement timeout, deadlock, serialization failure, too many connections.
SERVICE_BUSY_RETRY_AFTER = env.int("SERVICE_BUSY_RETRY_AFTER", default=5)
# Import jobs (enrolment/imports/services/jobs.py): a queued or running job without a heartbeat
# (set at each claim and each committed chunk of IMPORT_CHUNK_ROWS rows, seconds apart) for this
# long lost its worker or its nudge, and the sweeper (beat, every IMPORT_SWEEP_SECONDS) starts it
# again; after IMPORT_MAX_ATTEMPTS runs without finishing it ends failed, its file kept for
# IMPORT_FAILED_FILE_DAYS so that an operator can retry it.
IMPORT_STALL_SECONDS = env.int("IMPORT_STALL_SECONDS", default=600)
IMPORT_SWEEP_SECONDS = env.int("IMPORT_SWEEP_SECONDS", default=120)
IMPORT_MAX_ATTEMPTS = env.int("IMPORT_MAX_ATTEMPTS", default=3)
IMPORT_FAILED_FILE_DAYS = env.int("IMPORT_FAILED_FILE_DAYS", default=7)
# JSON bodies and JSON-encoded sync columns nested deeper than this are refused (400): the deepest
# real record (a worker's heirs in a bulk) is 5 levels.
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)
# A JSON-encoded sync column (heirs, programs) longer than this is refused (400): heirs of a whole
# family are under 2 KB.
SYNC_MAX_JSON_COLUMN_CHARS = env.int("SYNC_MAX_JSON_COLUMN_CHARS", default=64 * 1024)
# Import caps (enrolment/imports/readers.py, layout.py): a file over the rows, columns or
# unpacked-XLSX limit fails (its earlier chunks stay imported); a cell over the cell limit, or
# holding a NUL, makes its row invalid.
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=200_000)
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=200)
IMPORT_MAX_CELL_CHARS = env.int("IMPORT_MAX_CELL_CHARS", default=2000)
IMPORT_MAX_UNPACKED_BYTES = env.int("IMPORT_MAX_UNPACKED_BYTES", default=512 * 1024 * 1024)
MIDDLEWARE.insert(
    MIDDLEWARE.index("config.middleware.BodySizeLimitMiddleware") + 1, "config.middleware.NoStoreMiddleware"
)

# --- ODK Collect / OpenRosa 1.0 (issue 16) ------------------------------------------------------
INSTALLED_APPS = [*INSTALLED_APPS, "openrosa"]
# Its `password_changed` hook keeps the Digest password equivalent (openrosa/digest.py).
AUTH_PASSWORD_VALIDATORS = [*AUTH_PASSWORD_VALIDATORS, {"NAME": "openrosa.digest.DigestCredentialKeeper"}]
OPENROSA_REALM = env.str("OPENROSA_REALM", default="village-enrolment")
# The one Digest challenge offered: MD5 (what ODK Collect's client speaks) or SHA-256; empty
# turns Digest off (Basic only, over HTTPS).
OPENROSA_DIGEST_ALGORITHM = env.str("OPENROSA_DIGEST_ALGORITHM", default="MD5")
OPENROSA_DIGEST_NONCE_SECONDS = env.int("OPENROSA_DIGEST_NONCE_SECONDS", default=300)
# How long a verified Basic (user, password) is remembered, so not every request pays a hash.
OPENROSA_BASIC_CACHE_SECONDS = env.int("OPENROSA_BASIC_CACHE_SECONDS", default=300)
# X-OpenRosa-Accept-Content-Length: the largest POST; ODK Collect splits bigger submissions.
OPENROSA_MAX_SUBMISSION_BYTES = env.int("OPENROSA_MAX_SUBMISSION_BYTES", default=10 * 1024 * 1024)
OPENROSA_MAX_ATTACHMENT_BYTES = env.int("OPENROSA_MAX_ATTACHMENT_BYTES", default=2 * 1024 * 1024)
OPENROSA_MAX_ATTACHMENTS = env.int("OPENROSA_MAX_ATTACHMENTS", default=10)
# Up to this many villages are choices inside the form; more go to villages.csv in the manifest.
OPENROSA_INLINE_CHOICES_MAX = env.int("OPENROSA_INLINE_CHOICES_MAX", default=100)
OPENROSA_FORM_CACHE_SECONDS = env.int("OPENROSA_FORM_CACHE_SECONDS", default=24 * 3600)
# Files of a split submission whose last part never arrived are deleted after this long.
OPENROSA_PENDING_ATTACHMENT_HOURS = env.int("OPENROSA_PENDING_ATTACHMENT_HOURS", default=72)

# --- Operations: metrics, replicas, partitions (issue 17; docs/operations.md) ---------------------
# /metrics answers a bearer METRICS_TOKEN, or a client inside METRICS_ALLOWED_NETWORKS (CIDRs,
# comma-separated); with neither it answers no one.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
# The audit log and the sync snapshots are partitioned by month (villages/partitions.py): a daily
# beat task creates the months ahead and drops whole months past their retention (0: keep all).
PARTITIONS_AHEAD_MONTHS = env.int("PARTITIONS_AHEAD_MONTHS", default=3)
AUDIT_RETENTION_MONTHS = env.int("AUDIT_RETENTION_MONTHS", default=0)
# Whole months of snapshots past the row retention above (SYNC_SNAPSHOT_RETENTION_DAYS) are dropped.
SYNC_SNAPSHOT_PARTITION_RETENTION_MONTHS = env.int(
    "SYNC_SNAPSHOT_PARTITION_RETENTION_MONTHS", default=SYNC_SNAPSHOT_RETENTION_DAYS // 30 + 1
)
# A streaming replica for report, export and list reads (config/replicas.py). Reads fall back to
# the primary when it is down or more than REPLICA_MAX_LAG_SECONDS behind, and for REPLICA_PIN_SECONDS
# after a client's write (read-your-writes).
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_URL and DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["config.replicas.ReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=30.0)
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=5.0)
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=60)
# Behind PgBouncer in transaction mode (DATABASE_POOLER=pgbouncer): a server connection belongs to
# a client only for one transaction, so nothing may outlive one. Server-side cursors (iterator()
# outside a transaction) and psycopg's prepared statements are switched off; the advisory locks
# are transaction-scoped already (config/locks.py) and no session setting is relied on.
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_URL and DATABASE_POOLER == "pgbouncer":
    for _alias in DATABASES:
        DATABASES[_alias]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES[_alias].setdefault("OPTIONS", {})["prepare_threshold"] = None

# --- budget year (enrolment/funding) ---
# Rows per transaction of a renewal's real run (each chunk: its inserts, audit and progress).
RENEWAL_CHUNK_SIZE = env.int("RENEWAL_CHUNK_SIZE", default=2000)
# JKM's benefit to the heirs (DOMAIN.md: Rp 42 million, verified); a setting, like the age limits.
CLAIM_JKM_IDR = env.int("CLAIM_JKM_IDR", default=42_000_000)
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "ClaimStatusEnum": "enrolment.funding.models.ClaimStatus",
    }
)

# --- data quality (likely duplicates: workers/duplicates/) ---
# Off only to measure what the finder costs (bench/bulk_ingest.py's `no-finder` path).
DQ_FINDER = env.bool("DQ_FINDER", default=True)
# Weights of the pair score's evidence and its gates (workers/duplicates/scoring.py), chosen on
# the labelled corpus of bench/duplicates.py (figures and reasoning: docs/dq.md).
DQ_WEIGHTS = {"name": 0.45, "birth_date": 0.25, "nik": 0.35, "kk": 0.1, "phone": 0.1, "mother": 0.1, "village": 0.05}
DQ_THRESHOLD = env.float("DQ_THRESHOLD", default=0.7)  # a pair at or above this is stored
DQ_NAME_MIN = 0.8  # below this name similarity the score is halved (relatives share the rest)
DQ_PATRONYM_DIFFERS = 0.7  # both have a "bin/binti" part and they differ
DQ_SEX_DIFFERS = 0.6
DQ_NIK_DIFFERS = 0.8  # both NIKs valid and more than one digit apart
DQ_DATE_SWAPPED = 0.9
DQ_DATE_TYPO = 0.7
DQ_NIK_TYPO = 0.8
DQ_SAME_NIK_SCORE = 0.99
# The database's own trigram pre-filter (pg_trgm similarity of the normalised names) for
# candidates born on the same or the swapped date; kept below DQ_NAME_MIN so the scorer decides.
DQ_TRGM_MIN = 0.35
DQ_MAX_CANDIDATES = 50  # per record and per key: a key shared by more is no evidence of one person

# --- panel (issue 12) ------------------------------------------------------------------------------
# The village admin panel (/panel/): a session of its own length (the admin keeps Django's), the
# same login throttling as the API (LOGIN_FAILURES_*).
INSTALLED_APPS.append("panel")
PANEL_LOGIN_URL = "/panel/login/"
PANEL_SESSION_SECONDS = env.int("PANEL_SESSION_SECONDS", default=8 * 60 * 60)
# The invalid rows of an import, kept for the operator to fix and upload again (personal data:
# only this long after the job ends; enrolment/imports/invalid_rows.py).
IMPORT_INVALID_ROWS_HOURS = env.int("IMPORT_INVALID_ROWS_HOURS", default=72)

# --- Deployment behind TLS (issue 11, docs/hard.md) ----------------------------------------------
# DJANGO_HTTPS=true: the service is only reached over HTTPS (directly, or behind a TLS proxy named
# by NUM_PROXIES). Then: HTTP is redirected (health probes excepted), HSTS is sent, cookies are
# Secure, and the proxy's X-Forwarded-Proto says whether a request came over TLS.
DJANGO_HTTPS = env.bool("DJANGO_HTTPS", default=False)
if DJANGO_HTTPS:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load balancers probe over plain HTTP
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    if NUM_PROXIES:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Contract: the OpenAPI schema (issue 11) --------------------------------------------------------
# An enrolment's input `status` appears in two components (the enrolment, a registration's
# enrolment): one name for its two values.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["EnrolmentInputStatusEnum"] = ["draft", "submitted"]

# --- priv13a: privacy (issue 13): erasure steps, privacy notices -----------------------------------
# What an erasure must also remove in apps above enrolment (enrolment/privacy/erasure.py): the
# ErasureStep provider of each installed app that holds personal data on a person (ODK Collect's
# attachments). An app declaring one that is missing here fails `manage.py check`.
PRIVACY_ERASURE_STEPS = ["openrosa.erasure.OpenRosaAttachments"] if "openrosa" in INSTALLED_APPS else []

# --- hard11: a database refusal in a plain Django view answers 503 like DRF's (config/middleware.py)
MIDDLEWARE.append("config.middleware.DatabaseBusyMiddleware")

# --- panel15: the panel's budget and claim pages (issue 15, panel/views/budget.py, claims.py) ---------
# A claim still waiting for its documents this many days after its last status change is shown
# overdue on /panel/klaim/ and counted on the Beranda (DOMAIN.md names no period; two weeks).
PANEL_CLAIM_WAITING_DAYS = env.int("PANEL_CLAIM_WAITING_DAYS", default=14)
# Beranda: a device that has not pulled for this many days counts as silent (issue 12: a week).
PANEL_STALE_DEVICE_DAYS = env.int("PANEL_STALE_DEVICE_DAYS", default=7)
# A decree committing at least this share of its quota or amount counts as nearly exhausted.
PANEL_ALLOCATION_NEARLY_EXHAUSTED_PERCENT = env.int("PANEL_ALLOCATION_NEARLY_EXHAUSTED_PERCENT", default=90)

# --- Celery: the broker, the workers and every periodic task (config/celery.py) -------------------
# The one Celery block: last, so that every interval it names is set above. Tasks live in each
# app's tasks.py (Celery's autodiscovery over INSTALLED_APPS, which lists enrolment's sub-apps), so
# no module list is kept here. Without REDIS_URL tasks run in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Jakarta"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The worker logs through LOGGING (request ids, masking, JSON) instead of Celery's own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The tasks are idempotent and say so themselves (acks_late: a worker that
# dies mid-task leaves its message to be delivered again); a worker takes one message at a time
# per process, so a long send never holds others back.
# One queue per workload (config/queues.py routes every task by its name), so registry sends,
# imports, reports and maintenance each run on the workers started for them (-Q registry, ...).
# CELERY_QUEUE_PREFIX lets several deployments (or parallel test runs) share one Redis.
CELERY_QUEUE_PREFIX = env.str("CELERY_QUEUE_PREFIX", default="")
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default=CELERY_QUEUE_PREFIX + "maintenance")
CELERY_TASK_QUEUES = task_queues(CELERY_QUEUE_PREFIX)
CELERY_TASK_ROUTES = (route_task,)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis hands an unacknowledged message to another worker after the visibility timeout, and a
# retry waiting for its countdown is such a message: the timeout must outlast the longest
# countdown plus a send, or every long retry would run twice (harmless, the tasks are idempotent,
# but wasteful).
CELERY_VISIBILITY_TIMEOUT = env.int(
    "CELERY_VISIBILITY_TIMEOUT",
    default=int(max(REGISTRY_RETRY_MAX_SECONDS, REGISTRY_RETRY_AFTER_MAX_SECONDS) + REGISTRY_LEASE_SECONDS + 600),
)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# A send already under way when the broker connection drops is left to finish: its result goes to
# PostgreSQL, not to the broker, and cancelling it would only leave the batch to the sweeper.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# The beat schedule: every periodic task, in one place (tests/test_architecture.py keeps it one
# literal). Times are Asia/Jakarta; the nightly ones are spread so that they do not overlap.
CELERY_BEAT_SCHEDULE = {
    # --- registry (enrolment/registry) ---
    "registry-sync": {
        "task": "enrolment.registry.sync",
        "schedule": REGISTRY_SYNC_INTERVAL_SECONDS,
        # A worker that was down must not find a pile of identical nudges.
        "options": {"expires": REGISTRY_SYNC_INTERVAL_SECONDS},
    },
    "registry-full-pass": {
        "task": "enrolment.registry.sync",
        "schedule": crontab(hour=REGISTRY_FULL_PASS_HOUR, minute=0),
        "kwargs": {"full": True},
    },
    "registry-reconcile": {
        "task": "enrolment.registry.reconcile",
        "schedule": crontab(hour=REGISTRY_RECONCILE_HOUR, minute=30),
    },
    # --- reports, sync, imports ---
    # Folding the coverage report's running counts: cheap, idempotent.
    "coverage-compact": {"task": "enrolment.reports.compact", "schedule": COVERAGE_COMPACT_SECONDS},
    "sync-prune-snapshots": {"task": "enrolment.sync.prune_snapshots", "schedule": crontab(hour=3, minute=15)},
    # Restarts import jobs whose worker or nudge was lost (IMPORT_STALL_SECONDS above).
    "import-sweep": {
        "task": "enrolment.imports.sweep",
        "schedule": IMPORT_SWEEP_SECONDS,
        "options": {"expires": IMPORT_SWEEP_SECONDS},
    },
    "imports-prune-invalid-rows": {
        "task": "enrolment.imports.prune_invalid_rows",
        "schedule": crontab(minute=45),
    },
    # --- ODK Collect: files of split submissions whose last part never came ---
    "openrosa-prune-pending-attachments": {
        "task": "openrosa.prune_pending_attachments",
        "schedule": crontab(hour=3, minute=45),
    },
    # --- operations: the monthly partitions ahead, and the ones past retention ---
    "villages-maintain-partitions": {
        "task": "villages.maintain_partitions",
        "schedule": crontab(hour=1, minute=5),
    },
    # --- budget year (enrolment/funding) ---
    "funding-resume-renewals": {"task": "enrolment.funding.resume_renewals", "schedule": 300.0},
    "funding-registry-messages": {"task": "enrolment.funding.send_registry_messages", "schedule": 60.0},
    # The nightly three-month lapse (enrolment.funding.payments), after the registry's reconciliation.
    "funding-lapse": {"task": "enrolment.funding.lapse", "schedule": crontab(hour=4, minute=0)},
}
