from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from enrolment.demo import demo_people
from villages.demo import demo_load
from villages.models import User


class Command(BaseCommand):
    help = "Demo accounts, Bengkulu's areas and targets, and sample workers in Gedung Wani. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="Do not print the demo logins.")

    @transaction.atomic
    def handle(self, *args: Any, quiet: bool = False, **options: Any) -> None:
        accounts = demo_load()
        people = demo_people(
            officer=User.objects.get(username="petugas"), operator=User.objects.get(username="operator")
        )
        if not quiet:
            self.stdout.write(f"Demo data: {people} workers with enrolments in Gedung Wani (17.04.01.2001).")
            self.stdout.write("Demo logins (username / password, role, areas):")
            for account in accounts:
                self.stdout.write(
                    f"  {account.username:<12} {account.password:<16} {account.role:<17} {', '.join(account.areas)}"
                )
