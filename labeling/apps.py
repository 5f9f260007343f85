from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    verbose_name = "Labelling"

    def ready(self) -> None:
        from labeling.models import Task
        from vault import reseal

        for field in ("payload", "prediction", "gold"):
            reseal.register(model=Task, field=field, kind=f"task.{field}")
