from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Datasets"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        from datasets import jobs, tasks  # noqa: F401  (Celery tasks and signal receivers)

        # Pillow's own decompression-bomb threshold, made ours (docs/imports.md).
        Image.MAX_IMAGE_PIXELS = settings.IMPORT_MAX_IMAGE_PIXELS
        from datasets import webhooks
        from datasets.models import ProjectFile, Webhook
        from vault import reseal

        jobs.register()
        jobs.register_versions()
        reseal.register(model=ProjectFile, field="name", kind="file.name")
        reseal.register(model=Webhook, field="secret", kind="webhook.secret")
        webhooks.register()
