"""Spreadsheet imports: `jobs` creates a job from an upload and reads jobs back, `processing` runs
a job in chunks in the background, `reading` parses the file a chunk ahead of it. The entry
points are re-exported here."""

from enrolment.imports.services.jobs import (
    IMPORT_ROLES,
    READ_ROLES,
    ImportFileGone,
    ImportNotRetryable,
    UnsupportedFile,
    common_area,
    import_create,
    import_dry_run_flag,
    import_job_get,
    import_job_retry,
    import_jobs_sweep,
    import_jobs_visible,
    import_nudge,
)
from enrolment.imports.services.processing import DUPLICATE_ROW, ImportConcurrentRun, import_job_run

__all__ = [
    "DUPLICATE_ROW",
    "IMPORT_ROLES",
    "READ_ROLES",
    "ImportConcurrentRun",
    "ImportFileGone",
    "ImportNotRetryable",
    "UnsupportedFile",
    "common_area",
    "import_create",
    "import_dry_run_flag",
    "import_job_get",
    "import_job_retry",
    "import_job_run",
    "import_jobs_sweep",
    "import_jobs_visible",
    "import_nudge",
]
