"""The ``labelkeep`` command: pull a verified version, list versions, verify a file offline.

Exit codes: 0 done, 1 verification failed, 2 usage or an unusable destination, 3 the server
refused or could not be reached (including a version that is not ready).
"""

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from labelkeep_client.api import Client, default_destination
from labelkeep_client.errors import (
    ApiError,
    ConfigurationError,
    UnsupportedFormat,
    VerificationError,
    VersionNotReady,
)
from labelkeep_client.keys import trusted_keys
from labelkeep_client.verify import verify_file, verify_manifest
from labelkeep_client.version import __version__

OK, VERIFICATION_FAILED, USAGE, API_ERROR = 0, 1, 2, 3
_EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (VerificationError, VERIFICATION_FAILED),
    (ConfigurationError, USAGE),
    (UnsupportedFormat, USAGE),
    (ApiError, API_ERROR),
    (VersionNotReady, API_ERROR),
    (OSError, USAGE),
]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except KeyboardInterrupt:
        sys.stderr.write("\nlabelkeep: interrupted; run the same command again to resume.\n")
        return 130
    except tuple(error for error, _ in _EXIT_CODES) as exc:
        sys.stderr.write(f"labelkeep: {exc}\n")
        return next(code for error, code in _EXIT_CODES if isinstance(exc, error))
    return result


def _parser() -> argparse.ArgumentParser:
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--url", help="the server (default: $LABELKEEP_URL)")
    server.add_argument("--token", help="an API token (default: $LABELKEEP_TOKEN, preferred)")
    keys = argparse.ArgumentParser(add_help=False)
    keys.add_argument(
        "--public-key",
        action="append",
        metavar="KEY",
        help="a trusted signing key: base64 or a PEM file; repeat for several "
        "(default: $LABELKEEP_PUBLIC_KEY, else the keys the server publishes)",
    )
    parser = argparse.ArgumentParser(prog="labelkeep", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _pull_parser(commands, [server, keys])
    listing = commands.add_parser("versions", parents=[server], help="list a project's versions")
    listing.add_argument("project", help="the project's id")
    listing.set_defaults(run=_versions)
    _verify_parser(commands, [keys])
    return parser


def _pull_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    pull = commands.add_parser("pull", parents=parents, help="download and verify a version")
    pull.add_argument("project", help="the project's id")
    pull.add_argument("version", help="the version's id, number or name")
    pull.add_argument(
        "-o",
        "--output",
        type=Path,
        help="a file, or a folder for archives (default: the file's name, here)",
    )
    pull.add_argument(
        "--save-manifest",
        type=Path,
        metavar="PATH",
        help="also write the signed manifest document, to verify the file again offline",
    )
    pull.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    pull.set_defaults(run=_pull)


def _verify_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    verify = commands.add_parser(
        "verify", parents=parents, help="verify a pulled file offline against its manifest"
    )
    verify.add_argument("file", type=Path, help="the pulled file")
    verify.add_argument(
        "--manifest", type=Path, required=True, help="the document --save-manifest wrote"
    )
    verify.set_defaults(run=_verify)


def _client(args: argparse.Namespace) -> Client:
    return Client(args.url, args.token, public_keys=getattr(args, "public_key", None))


def _pull(args: argparse.Namespace) -> int:
    client = _client(args)
    dest = args.output
    if dest is None:
        dest = default_destination(client.manifest(args.project, args.version))
    bar = None if args.quiet else ProgressBar(sys.stderr)
    manifest, path, document = client.pull_to(args.project, args.version, dest, progress=bar)
    if bar:
        bar.finish()
    if args.save_manifest:
        args.save_manifest.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        sys.stderr.write(_summary(manifest, path))
    return OK


def _summary(manifest: dict[str, Any], path: Path) -> str:
    version = manifest["version"]
    file = manifest["file"]
    return (
        f"Verified version {version.get('number')} ({version.get('name')}) of "
        f"{manifest['project'].get('name')}: {file.get('rows')} rows, "
        f"sha256 {file['sha256']}\n  -> {path}\n"
    )


def _versions(args: argparse.Namespace) -> int:
    client = Client(args.url, args.token, public_keys=[])
    columns = ("number", "state", "format", "row_count", "size", "created_at", "id", "name")
    sys.stdout.write("\t".join(columns) + "\n")
    for version in client.versions(args.project):
        cells = ("" if version.get(name) is None else str(version[name]) for name in columns)
        sys.stdout.write("\t".join(cells) + "\n")
    return OK


def _verify(args: argparse.Namespace) -> int:
    sources = args.public_key or os.environ.get("LABELKEEP_PUBLIC_KEY", "").split(",")
    keys = trusted_keys(source.strip() for source in sources if source.strip())
    if not keys:
        raise ConfigurationError("Offline verification needs --public-key or LABELKEEP_PUBLIC_KEY.")
    manifest = verify_manifest(args.manifest.read_bytes(), keys)
    verify_file(args.file, manifest)
    sys.stderr.write(f"{args.file}: verified, sha256 {manifest['file']['sha256']}\n")
    return OK


class ProgressBar:
    """Bytes, percent and rate on one redrawn line of a terminal; where the stream is not a
    terminal (a CI log), a plain line every few seconds and at the end."""

    WIDTH = 28

    def __init__(self, stream: TextIO, *, interval: float | None = None) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._interval = interval if interval is not None else (0.1 if self._tty else 5.0)
        self._started = time.monotonic()
        self._first: int | None = None
        self._shown = -math.inf
        self._last = (0, 0)

    def __call__(self, done: int, total: int) -> None:
        if self._first is None or done < self._first:
            self._first, self._started = done, time.monotonic()
        self._last = (done, total)
        now = time.monotonic()
        if now - self._shown >= self._interval:
            self._shown = now
            self._draw(done, total, now)

    def finish(self) -> None:
        if self._first is not None:
            self._draw(*self._last, time.monotonic(), final=True)

    def _draw(self, done: int, total: int, now: float, *, final: bool = False) -> None:
        elapsed = max(now - self._started, 1e-6)
        rate = (done - (self._first or 0)) / elapsed
        fraction = done / total if total else 1.0
        figures = f"{fraction:4.0%}  {_size(done)} / {_size(total)}  {_size(rate)}/s"
        if self._tty:
            filled = round(self.WIDTH * fraction)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self._stream.write(f"\r[{bar}] {figures}  " + ("\n" if final else ""))
        elif final or done < total:
            self._stream.write(f"download {figures}\n")
        self._stream.flush()


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


if __name__ == "__main__":
    sys.exit(main())
