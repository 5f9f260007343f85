"""Give the demo project (`manage.py demo_lab`) tasks to look at, through a real import.

Runs once: a project that has an import already is left alone. The import is queued like any
upload and runs on the worker that `make run` starts beside the web server.
"""

import io
import json
from typing import Any

from audit.services import Actor
from core.commands import EmbeddedOnlyCommand
from datasets import imports
from datasets.models import Import
from projects.management.commands.demo_lab import DEMO_PROJECT
from projects.models import Project

REVIEWS = (
    "Arrived two days early and the battery lasts a full week. Exactly what I wanted.",
    "The zipper broke after a month. Support never answered my emails.",
    "Great sound for the price, but the ear cushions get uncomfortable after an hour.",
    "Does anyone know if this fits the 2019 model? Asking before I order.",
    "Sturdy, quiet, and easy to assemble. The instructions could be clearer.",
    "Stopped charging on day three. Returned it.",
    "My daughter loves it; she uses it every day for school.",
    "The colour is nothing like the photos, and the fabric feels cheap.",
    "Fast shipping. I have not opened the box yet.",
    "Works as described. Setup took five minutes with the app.",
    "Too loud at night, but it cools the room faster than our old unit.",
    "The screen scratches if you so much as look at it.",
    "Five stars for the customer service: they replaced it without a question.",
    "It is fine. Nothing special, nothing wrong.",
    "Leaked the first time I used it and ruined the carpet.",
    "Better than the expensive brand I used before, honestly.",
    "Bought this as a gift, so I cannot say how it works.",
    "Lightweight and folds small; the wheels are flimsy though.",
    "The app needs an account and asks for my location. No thanks.",
    "Perfect fit, warm, and it survived a winter of hiking.",
)


class Command(EmbeddedOnlyCommand):
    help = "Import sample tasks into the demo project, once."

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(name=DEMO_PROJECT, deleted_at__isnull=True).first()
        if project is None or Import.objects.filter(project=project).exists():
            return
        records = [
            {"text": text, "external_id": f"review-{number}", "metadata": {"source": "demo"}}
            for number, text in enumerate(REVIEWS, start=1)
        ]
        body = "".join(json.dumps(record) + "\n" for record in records).encode()
        imports.import_create(
            actor=Actor.system("demo_tasks", user=project.created_by),
            project=project,
            options=imports.import_options(project, file_name="demo-reviews.jsonl"),
            source=io.BytesIO(body),
        )
        self.stdout.write(f"Queued {len(records)} demo tasks for {project.name!r}.")
