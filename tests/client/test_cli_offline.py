"""The command's offline parts: ``labelkeep verify``, usage errors, the progress display."""

import io
import json

from labelkeep_client.cli import ProgressBar

from tests.client.cli import run
from tests.client.signing import make_key, manifest_for, sign

DATA = b'{"task_id":"1"}\n{"task_id":"2"}\n'


def saved(tmp_path, key, data=DATA):
    (tmp_path / "data.jsonl").write_bytes(data)
    (tmp_path / "manifest.json").write_text(json.dumps(sign(key, manifest_for(DATA))))
    return str(tmp_path / "data.jsonl"), str(tmp_path / "manifest.json")


def test_verify_accepts_a_file_and_its_signed_manifest(tmp_path):
    key = make_key()
    file, manifest = saved(tmp_path, key)
    done = run("verify", file, "--manifest", manifest, "--public-key", key.public_b64)
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stderr


def test_verify_takes_the_key_from_the_environment(tmp_path):
    key = make_key()
    file, manifest = saved(tmp_path, key)
    done = run("verify", file, "--manifest", manifest, env={"LABELKEEP_PUBLIC_KEY": key.public_b64})
    assert done.returncode == 0, done.stderr


def test_verify_fails_with_1_on_a_changed_file(tmp_path):
    key = make_key()
    file, manifest = saved(tmp_path, key, DATA.replace(b"2", b"3"))
    done = run("verify", file, "--manifest", manifest, "--public-key", key.public_b64)
    assert done.returncode == 1
    assert "SHA-256" in done.stderr


def test_verify_fails_with_1_on_another_key(tmp_path):
    file, manifest = saved(tmp_path, make_key())
    done = run("verify", file, "--manifest", manifest, "--public-key", make_key().public_b64)
    assert done.returncode == 1
    assert "not among the trusted keys" in done.stderr


def test_verify_without_a_key_is_a_usage_error(tmp_path):
    file, manifest = saved(tmp_path, make_key())
    done = run("verify", file, "--manifest", manifest)
    assert done.returncode == 2
    assert "--public-key" in done.stderr


def test_pull_without_a_server_or_token_is_a_usage_error():
    assert run("pull", "p", "1").returncode == 2
    assert "LABELKEEP_URL" in run("pull", "p", "1").stderr
    no_token = run("pull", "p", "1", "--url", "http://127.0.0.1:9")
    assert no_token.returncode == 2
    assert "LABELKEEP_TOKEN" in no_token.stderr


def test_a_malformed_pinned_key_is_a_usage_error():
    done = run("pull", "p", "1", "--url", "http://127.0.0.1:9", "--token", "t", "--public-key", "x")
    assert done.returncode == 2
    assert "Ed25519" in done.stderr


def test_unknown_arguments_are_a_usage_error():
    assert run("pull").returncode == 2
    assert run("fetch", "p", "1").returncode == 2


def test_an_unreachable_server_is_an_api_error():
    done = run("versions", "p", "--url", "http://127.0.0.1:9", "--token", "t")
    assert done.returncode == 3
    assert "Cannot reach http://127.0.0.1:9" in done.stderr


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_bar_redraws_one_line_on_a_terminal():
    stream = Terminal()
    bar = ProgressBar(stream, interval=0)
    for done in range(0, 4 * 1024 * 1024 + 1, 1024 * 1024):
        bar(done, 4 * 1024 * 1024)
    bar.finish()
    lines = stream.getvalue().split("\r")[1:]
    assert len(lines) == 6
    assert lines[0].startswith("[............................]   0%  0 B / 4.0 MiB")
    assert lines[-1].startswith("[############################] 100%  4.0 MiB / 4.0 MiB")
    assert "/s" in lines[-1]
    assert stream.getvalue().endswith("\n")
    assert stream.getvalue().count("\n") == 1


def test_the_progress_is_plain_lines_where_stderr_is_not_a_terminal():
    stream = io.StringIO()
    bar = ProgressBar(stream, interval=3600)
    bar(0, 2048)
    bar(1024, 2048)
    bar(2048, 2048)
    bar.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0] == "download   0%  0 B / 2.0 KiB  0 B/s"
    assert lines[1].startswith("download 100%  2.0 KiB / 2.0 KiB  ")
    assert "\r" not in stream.getvalue()
