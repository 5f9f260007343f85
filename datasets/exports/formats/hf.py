"""A Hugging Face ``datasets`` folder, as a tar: ``datasets.load_dataset(folder)`` reads it.

The folder holds Parquet shards (``data/train-00000.parquet``, ...) with the Parquet format's
columns, and a dataset card (``README.md``) whose YAML front matter names them as the ``train``
split. Each shard is built in memory, bounded by rows and by bytes, and written to the tar as
soon as it is complete: no plaintext of a dataset ever touches the disk, which is also why the
shards are not named ``-of-N`` (their number is known only at the end).
"""

import io
import json
import tarfile
from collections.abc import Iterable
from typing import Any, BinaryIO

from datasets.exports.formats.base import BATCH_BYTES, BaseFormat, Option, whole_number
from datasets.exports.formats.tabular import COMPRESSION, ParquetStream
from datasets.exports.rows import ExportContext, ExportRow

# A shard is closed at ``shard_rows`` rows or once its Parquet passes this size, so the writer's
# memory stays bounded whatever the rows hold.
SHARD_BYTES = 64 << 20
_FILE_MODE = 0o644
_DIR_MODE = 0o755


def _entry(name: str, size: int, *, directory: bool = False) -> tarfile.TarInfo:
    """A tar header that says nothing of when or by whom: the same rows, the same bytes."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = _DIR_MODE if directory else _FILE_MODE
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    return info


def shard_name(index: int) -> str:
    return f"data/train-{index:05d}.parquet"


def dataset_card(context: ExportContext, rows: int, shards: int) -> str:
    """README.md: YAML front matter for ``datasets``, then what the folder is."""
    # JSON strings are YAML double-quoted scalars, so the names need no other escaping.
    title = json.dumps(f"{context.project_name} ({context.version_name})")
    return "\n".join(
        [
            "---",
            f"pretty_name: {title}",
            "license: other",
            "configs:",
            "- config_name: default",
            "  data_files:",
            "  - split: train",
            "    path: data/train-*.parquet",
            "---",
            "",
            f"# {context.project_name}: {context.version_name}",
            "",
            f"- Project: {context.project_name}",
            f"- Task type: {context.task_type}",
            f"- Version: {context.version_name}",
            f"- Rows: {rows} (one per exported annotation, in {shards} Parquet shard(s))",
            "",
            "Exported by Labelkeep. The lab that ran this project owns this data; it is not",
            "published under an open license.",
            "",
            "Columns: task_id, external_id, annotation_id, annotator (a pseudonym, stable within",
            "the project), review_state, revision, time_spent (seconds), submitted_at (ISO 8601,",
            "UTC), agreement (0..1, null below two annotations), is_gold, and data, metadata and",
            "result as JSON text" + (", and image" if context.task_type == "boxes" else "") + ".",
            "",
        ]
    )


class _Shards:
    """Parquet shards built one at a time in memory, each written to the tar once closed."""

    def __init__(self, archive: tarfile.TarFile, context: ExportContext, options: dict[str, Any]):
        self._archive = archive
        self._context = context
        self._options = options
        self.written = 0
        self.rows = 0
        self._buffer = io.BytesIO()
        self._stream = self._open()

    def _open(self) -> ParquetStream:
        self._buffer = io.BytesIO()
        return ParquetStream(
            self._buffer,
            task_type=self._context.task_type,
            compression=self._options["compression"],
        )

    def add(self, row: ExportRow) -> None:
        self._stream.add(row)
        self.rows += 1
        full = self._stream.count >= self._options["shard_rows"]
        if full or self._stream.size >= SHARD_BYTES:
            self._close_shard()
            self._stream = self._open()

    def _close_shard(self) -> None:
        self._stream.close()
        # The shard goes to the tar from its own buffer, never copied whole.
        size = self._buffer.tell()
        self._buffer.seek(0)
        self._archive.addfile(_entry(shard_name(self.written), size), self._buffer)
        self._buffer = io.BytesIO()
        self.written += 1

    def finish(self) -> None:
        # An empty dataset still has one (empty) shard, so that it loads with its columns.
        if self._stream.count or not self.written:
            self._close_shard()
        else:
            self._stream.close()


class HuggingFace(BaseFormat):
    name = "hf"
    media_type = "application/x-tar"
    extension = "tar"
    option_specs = {
        "compression": COMPRESSION,
        "shard_rows": Option(500_000, whole_number(1_000, 1_000_000)),
    }

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        options = self.context_options(context)
        # "w|": a stream, never seeked; USTAR: no PAX headers, whose content could vary.
        with tarfile.open(
            fileobj=out, mode="w|", format=tarfile.USTAR_FORMAT, bufsize=BATCH_BYTES
        ) as archive:
            archive.addfile(_entry("data", 0, directory=True))
            shards = _Shards(archive, context, options)
            for row in rows:
                shards.add(row)
            shards.finish()
            card = dataset_card(context, shards.rows, shards.written).encode()
            archive.addfile(_entry("README.md", len(card)), io.BytesIO(card))
        return shards.rows
