"""Set up (once) and describe the demo lab that `make run` serves.

The first run creates a lab administrator and a demo project with one member of each role, each
with a random password, written to var/demo-logins.txt (mode 0600). Later runs only print it.
"""

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import User
from audit.services import Actor
from core.commands import EmbeddedOnlyCommand
from projects import services
from projects.models import Project, Role

DEMO_DOMAIN = "demo.labelkeep.test"
DEMO_PROJECT = "Demo: customer review sentiment"
DEMO_SCHEMA = {
    "labels": [
        {"name": "Positive", "hotkey": "1"},
        {"name": "Negative", "hotkey": "2"},
        {"name": "Mixed", "hotkey": "3"},
        {"name": "Off-topic", "hotkey": "4"},
    ]
}
DEMO_INSTRUCTIONS = """\
Read the review and choose the **overall sentiment** the customer expresses.

- *Mixed*: clear praise and clear complaint in the same review.
- *Off-topic*: the text is not a review of the product.
"""


class Command(EmbeddedOnlyCommand):
    help = "Create the demo lab on first run and print how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(settings.VAR_DIR) / "demo-logins.txt"
        if not User.objects.filter(email=f"admin@{DEMO_DOMAIN}").exists():
            logins = self._create()
            _write_private(path, logins)
        self._print(path)

    @transaction.atomic
    def _create(self) -> list[tuple[str, str, str]]:
        password = secrets.token_urlsafe(12)
        admin = User.objects.create_user(
            f"admin@{DEMO_DOMAIN}", password, full_name="Demo Admin", is_staff=True
        )
        logins = [("lab admin", admin.email, password)]
        actor = Actor.system("demo_lab", user=admin)
        project = _demo_project(actor)
        for role in (Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR, Role.VIEWER):
            member_password = secrets.token_urlsafe(12)
            member = User.objects.create_user(
                f"{role.value}@{DEMO_DOMAIN}", member_password, full_name=f"Demo {role.label}"
            )
            services.member_add(actor=actor, project=project, user=member, role=role)
            logins.append((role.value, member.email, member_password))
        return logins

    def _print(self, path: Path) -> None:
        url = settings.SITE_URL
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Labelkeep demo lab: {url}/"))
        self.stdout.write(f"Sign in with one of these (also kept in {path}):")
        for line in path.read_text().splitlines():
            self.stdout.write(f"  {line}")
        self.stdout.write("")


def _demo_project(actor: Actor) -> Project:
    return services.project_create(
        actor=actor,
        name=DEMO_PROJECT,
        description="A small sentiment project to try Labelkeep with.",
        instructions=DEMO_INSTRUCTIONS,
        label_schema=DEMO_SCHEMA,
        overlap=2,
    )


def _write_private(path: Path, logins: list[tuple[str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        for role, email, password in logins:
            handle.write(f"{role:<10} {email:<36} password: {password}\n")
