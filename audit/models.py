import uuid
from typing import Any, NoReturn, TypeVar

from django.db import models, transaction

_M = TypeVar("_M", bound=models.Model)


class Outcome(models.TextChoices):
    SUCCESS = "success"
    DENIED = "denied"
    FAILURE = "failure"


class AppendOnlyError(Exception):
    """Raised by the ORM before any SQL is sent: audit rows are never updated or deleted."""


def _refuse(operation: str) -> NoReturn:
    raise AppendOnlyError(f"The audit log is append-only: {operation} refused.")


class AppendOnlyQuerySet(models.QuerySet[_M]):
    def update(self, **kwargs: Any) -> int:
        _refuse("update")

    def delete(self) -> tuple[int, dict[str, int]]:
        _refuse("delete")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        _refuse("bulk_update")


class ChainManager(models.Manager[_M]):
    """Reading the log or its heads first writes the event the transaction has waiting for
    its commit (``audit.chain``), so a transaction reads what it recorded."""

    def get_queryset(self) -> models.QuerySet[_M]:
        from audit import chain  # it imports this module

        chain.flush(transaction.get_connection(self.db))
        return super().get_queryset()


class AppendOnlyModel(models.Model):
    """A row that can be inserted once and never changed through the ORM.

    The database triggers of ``audit.guard`` refuse the same operations in SQL.
    """

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse("save of an existing row")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("delete")


class AuditEvent(AppendOnlyModel):
    """One append-only record of an action.

    References are plain ids, not foreign keys: the record must outlive (and never cascade
    with) the users, projects and objects it names. Each event is linked into one of several
    hash chains (``chain``, ``chain_pos``, ``prev_hash``, ``hash``; see ``audit.chain``).
    """

    seq = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    occurred_at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    actor_id = models.UUIDField(null=True, db_index=True)
    actor_label = models.CharField(max_length=254, blank=True)
    auth_method = models.CharField(max_length=16, blank=True)
    token_id = models.UUIDField(null=True)
    project_id = models.UUIDField(null=True, db_index=True)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # Text, not inet: the hash is computed over exactly the text that is stored, and
    # PostgreSQL's inet would rewrite some IPv6 spellings on the way in.
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict)
    chain = models.PositiveIntegerField(default=0)
    chain_pos = models.PositiveBigIntegerField(default=0)
    hash_version = models.PositiveSmallIntegerField(default=1)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = ChainManager.from_queryset(AppendOnlyQuerySet)()

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["project_id", "seq"], name="audit_project_seq")]
        constraints = [
            models.UniqueConstraint(fields=["chain", "chain_pos"], name="audit_chain_position")
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.action} {self.outcome}"


class AuditChainHead(models.Model):
    """The newest event of one chain: locked while appending, so a chain never forks.

    Mutable, and not trusted by verification beyond a cross-check: the signed checkpoints are
    what an attacker cannot rewrite.
    """

    chain = models.PositiveIntegerField(primary_key=True)
    length = models.PositiveBigIntegerField(default=0)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True)

    objects = ChainManager["AuditChainHead"]()

    def __str__(self) -> str:
        return f"chain {self.chain} at {self.length}"


class SignedRecord(AppendOnlyModel):
    """An append-only row whose ``payload`` (canonical JSON) is signed with the audit key."""

    created_at = models.DateTimeField()
    payload = models.TextField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=128)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True


class AuditCheckpoint(SignedRecord):
    """A signed statement of every chain's head at one moment.

    ``payload`` is the exact canonical JSON that was signed (number, time, previous
    checkpoint's digest, heads); the other columns are copies for listing and lookup.
    """

    number = models.PositiveBigIntegerField(unique=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"checkpoint {self.number}"


class AuditShipCursor(models.Model):
    """How far one SIEM sink has received one stream (a chain, or the checkpoints).

    Chains only grow at their end and each position commits before the next is written, so
    "everything up to position N" is a complete description of what was shipped.
    """

    sink = models.CharField(max_length=200)
    stream = models.IntegerField()
    position = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sink", "stream"], name="audit_one_cursor_per_stream")
        ]

    def __str__(self) -> str:
        return f"{self.sink} {self.stream} at {self.position}"


class AuditAnchor(SignedRecord):
    """Where a chain starts after its older events were archived and pruned.

    Position ``pos`` of ``chain`` was seq ``seq`` with ``hash``, as signed by checkpoint
    ``checkpoint``; the events up to it are in the encrypted archive ``archive`` (SHA-256 of its
    plaintext in ``archive_sha256``). ``payload`` (all of that, as canonical JSON) is signed
    with the audit key, so verification starts the chain here only from a signed statement.
    A chain's newest anchor (highest ``pos``) is the one that counts.
    """

    chain = models.PositiveIntegerField()
    pos = models.PositiveBigIntegerField()
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    checkpoint = models.PositiveBigIntegerField()
    archive = models.CharField(max_length=200)
    archive_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["chain", "pos"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "pos"], name="audit_one_anchor_per_position")
        ]

    def __str__(self) -> str:
        return f"chain {self.chain} anchored at {self.pos}"
