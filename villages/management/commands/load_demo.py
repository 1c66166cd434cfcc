from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from villages.demo import demo_load


class Command(BaseCommand):
    help = "Creates the demo accounts (and Bengkulu's areas and targets if missing). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args: Any, quiet: bool = False, **options: Any) -> None:
        accounts = demo_load()
        if not quiet:
            self.stdout.write("Demo logins (username / password, role, areas):")
            for account in accounts:
                self.stdout.write(
                    f"  {account.username:<12} {account.password:<16} {account.role:<17} {', '.join(account.areas)}"
                )
