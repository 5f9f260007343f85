"""Benchmark of the vault: encrypted vs plain file throughput, and the cost of sealing fields.

    .venv/bin/python bench/vault.py --size-mb 1024

Blob store: writes and reads a file of ``--size-mb`` through the filesystem backend and through
the S3 backend (moto's server, run as a separate process on loopback so that only this process's
memory is measured), as a plain copy and encrypted, through the same backend; each phase runs
``--rounds`` times, alternating, and its best time counts. Fields: seals and opens ``--values``
values of ``--value-bytes`` bytes in batches of 10,000 through one ``FieldSealer``.

This process loads the vault with Django's settings only, not the whole web application, so that
``peak_rss_mb`` is what streaming costs; ``app_baseline_rss_mb`` is the RSS of a full Labelkeep
process (``django.setup()``) before it touches any file, measured in a child process.

The last line is JSON with ``fs_ratio`` and ``s3_ratio`` (encrypted / plain throughput, write +
read), ``peak_rss_mb``, ``field_seal_us`` and ``field_open_us``, and the details. Filesystem reads
are measured twice: straight after the write (from the page cache, where a plain read is a
memory copy and AES-GCM's own speed bounds the ratio) and after evicting the file from the page
cache (``fs_cold_*``: reads from the disk, as for a file that was not just written).
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size (MiB)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each phase (best counts)")
    parser.add_argument("--values", type=int, default=1_000_000, help="field values to seal")
    parser.add_argument("--value-bytes", type=int, default=300, help="size of each value")
    parser.add_argument("--skip-s3", action="store_true", help="only the filesystem backend")
    return parser.parse_args()


def setup(workdir: Path) -> None:
    """Django settings for the vault alone (no apps loaded)."""
    sys.path.insert(0, str(ROOT))
    from django.conf import settings

    settings.configure(
        USE_TZ=True,
        LABELKEEP_KEY_PROVIDER="local",
        LABELKEEP_MASTER_KEY_FILE=workdir / "master_keyring",
        LABELKEEP_MASTER_KEY_GENERATE=True,
        LABELKEEP_KEYSTORE_URL=(workdir / "keystore").as_uri(),
        LABELKEEP_KEY_CACHE_SECONDS=3600,
        LABELKEEP_BLOB_STORE="filesystem",
        LABELKEEP_BLOB_DIR=workdir / "blobs",
        S3_BUCKET="",
    )


def app_baseline_rss_mb(workdir: Path) -> float:
    code = (
        "import django, resource; django.setup(); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    env = {**os.environ, "LABELKEEP_VAR_DIR": str(workdir / "app"), "DATABASE_URL": ""}
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def source(size_mb: int) -> Iterator[bytes]:
    block = os.urandom(MIB)
    for _ in range(size_mb):
        yield block


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def drain(chunks: Iterator[bytes]) -> int:
    return sum(len(chunk) for chunk in chunks)


def read_plain(backend, key: str) -> int:
    stream = backend.open(key)
    total = 0
    try:
        while chunk := stream.read(MIB):
            total += len(chunk)
    finally:
        stream.close()
    return total


def compare(name: str, store, size_mb: int, rounds: int) -> dict[str, float]:
    """Plain copy vs encrypted, through the same backend: write then read, best of rounds."""
    from vault import config

    backend, pid = store.backend, uuid.uuid4()
    config.project_keys().create(pid)
    plain_key = f"bench/{pid}/plain"
    best: dict[str, float] = {}

    def keep(phase: str, seconds: float) -> None:
        best[phase] = min(seconds, best.get(phase, seconds))

    enc_key = f"projects/{pid}/f"
    for _ in range(rounds):
        keep("plain_write", timed(lambda: backend.write(plain_key, source(size_mb))))
        keep("plain_read", timed(lambda: read_plain(backend, plain_key)))
        if evict(backend, plain_key):
            keep("plain_cold_read", timed(lambda: read_plain(backend, plain_key)))
        backend.delete(plain_key)
        put = lambda: store.put(project_id=pid, name="f", source=source(size_mb))  # noqa: E731
        keep("enc_write", timed(put))
        keep("enc_read", timed(lambda: drain(store.read(project_id=pid, name="f"))))
        if evict(backend, enc_key):
            keep("enc_cold_read", timed(lambda: drain(store.read(project_id=pid, name="f"))))
        store.purge_project(project_id=pid)
    for phase, seconds in best.items():
        print(f"{name} {phase}: {size_mb / seconds:8.1f} MiB/s")
    return ratios(name, best, size_mb)


def ratios(name: str, best: dict[str, float], size_mb: int) -> dict[str, float]:
    plain = best["plain_write"] + best["plain_read"]
    encrypted = best["enc_write"] + best["enc_read"]
    figures = {
        f"{name}_ratio": plain / encrypted,
        f"{name}_write_ratio": best["plain_write"] / best["enc_write"],
        f"{name}_read_ratio": best["plain_read"] / best["enc_read"],
        f"{name}_encrypted_mib_s": 2 * size_mb / encrypted,
        f"{name}_plain_mib_s": 2 * size_mb / plain,
    }
    if "enc_cold_read" in best:
        cold_plain = best["plain_write"] + best["plain_cold_read"]
        figures[f"{name}_cold_ratio"] = cold_plain / (best["enc_write"] + best["enc_cold_read"])
        figures[f"{name}_cold_read_ratio"] = best["plain_cold_read"] / best["enc_cold_read"]
    return figures


def evict(backend, key: str) -> bool:
    """Drop a file from the page cache, so that the next read comes from the disk."""
    root = getattr(backend, "root", None)
    if root is None:
        return False
    fd = os.open(root / key, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto server did not start")


def s3_store(endpoint: str):
    from vault import config
    from vault.blobs import EncryptedBlobStore, S3Backend
    from vault.s3 import Bucket, S3Settings, make_client

    client = make_client(S3Settings(endpoint, "us-east-1", "bench", "bench-secret"))
    client.create_bucket(Bucket="bench")
    backend = S3Backend(Bucket(client=client, name="bench"))
    return EncryptedBlobStore(backend=backend, keys=config.project_keys())


def fields_bench(count: int, size: int) -> dict[str, float]:
    import vault
    from vault import config

    pid = uuid.uuid4()
    config.project_keys().create(pid)
    sealer = vault.field_sealer(pid, "bench.value")
    value, batch = os.urandom(size), 10_000
    seal_s = open_s = 0.0
    for start in range(0, count, batch):
        ids = range(start, min(start + batch, count))
        begin = time.perf_counter()
        sealed = [sealer.seal(i, value) for i in ids]
        middle = time.perf_counter()
        for i, item in zip(ids, sealed, strict=True):
            sealer.unseal(i, item)
        seal_s, open_s = seal_s + middle - begin, open_s + time.perf_counter() - middle
    single = min(count, 100_000)
    begin = time.perf_counter()
    for i in range(single):
        vault.seal(pid, "bench.value", i, value)
    single_s = time.perf_counter() - begin
    figures = {
        "field_seal_us": seal_s / count * 1e6,
        "field_open_us": open_s / count * 1e6,
        "field_seal_single_call_us": single_s / single * 1e6,
    }
    for key, micro in figures.items():
        print(f"{key}: {micro:.2f} us ({size}-byte values, {count} of them)")
    return figures


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    args = parse()
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lk-bench-", dir=ROOT / "var") as tmp:
        workdir = Path(tmp)
        setup(workdir)
        from vault import config

        print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
        result: dict[str, float | int] = {"size_mb": args.size_mb}
        result |= compare("fs", config.blob_store(), args.size_mb, args.rounds)
        if not args.skip_s3:
            server, endpoint = start_moto()
            try:
                result |= compare("s3", s3_store(endpoint), args.size_mb, args.rounds)
            finally:
                server.terminate()
                server.wait(timeout=30)
        result["peak_rss_mb"] = peak_rss_mb()  # after the blob phase: the target applies there
        result |= fields_bench(args.values, args.value_bytes)
        result["peak_rss_mb_with_fields"] = peak_rss_mb()
        result["app_baseline_rss_mb"] = app_baseline_rss_mb(workdir)
        print(
            json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()})
        )


if __name__ == "__main__":
    main()
