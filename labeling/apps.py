from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    verbose_name = "Labelling"

    def ready(self) -> None:
        from labeling import jobs, overlap, tasks  # noqa: F401  (Celery tasks)
        from labeling.models import Annotation, AnnotationRevision, Comment, Review, Task
        from vault import reseal

        for field in ("payload", "prediction", "gold"):
            reseal.register(model=Task, field=field, kind=f"task.{field}")
        for field in ("result", "draft", "skip_note"):
            reseal.register(model=Annotation, field=field, kind=f"annotation.{field}")
        reseal.register(model=AnnotationRevision, field="result", kind="annotation.revision")
        reseal.register(model=Review, field="comment", kind="review.comment")
        reseal.register(model=Comment, field="body", kind="annotation.comment")
        jobs.register()
        overlap.register()
