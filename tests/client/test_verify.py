"""Offline verification: a manifest verifies only against a trusted key, exactly as signed, and a
file only when its size and SHA-256 are the manifest's."""

import base64
import json

import pytest
from labelkeep_client import (
    ChecksumMismatch,
    ConfigurationError,
    ManifestMismatch,
    SignatureInvalid,
    verify_file,
    verify_manifest,
)
from labelkeep_client.keys import from_base64, key_id_of, public_key_raw

from tests.client.signing import canonical, make_key, manifest_for, public_pem, sign

DATA = b'{"task_id":"1","result":{"labels":["Positive"]}}\n{"task_id":"2"}\n'


@pytest.fixture
def key():
    return make_key()


@pytest.fixture
def manifest():
    return manifest_for(DATA)


def test_a_signed_manifest_verifies_and_is_returned_parsed(key, manifest):
    assert verify_manifest(sign(key, manifest), [key.public_b64]) == manifest


def test_the_document_may_be_given_as_json_text(key, manifest):
    assert verify_manifest(json.dumps(sign(key, manifest)), [key.public_b64]) == manifest


@pytest.mark.parametrize("form", ["base64", "pem_text", "pem_file", "pem_path", "raw_bytes"])
def test_a_key_may_be_pinned_in_each_supported_form(key, manifest, tmp_path, form):
    pem_file = tmp_path / "labelkeep.pem"
    pem_file.write_text(public_pem(key))
    pinned = {
        "base64": key.public_b64,
        "pem_text": public_pem(key),
        "pem_file": pem_file,
        "pem_path": str(pem_file),
        "raw_bytes": base64.b64decode(key.public_b64),
    }[form]
    assert verify_manifest(sign(key, manifest), [pinned]) == manifest


def test_key_ids_are_the_servers(key):
    assert key_id_of(public_key_raw(key.public_b64)) == key.key_id


def test_a_changed_manifest_text_fails(key, manifest):
    document = sign(key, manifest)
    document["manifest"] = document["manifest"].replace('"rows":2', '"rows":3')
    assert document["manifest"] != sign(key, manifest)["manifest"]
    with pytest.raises(SignatureInvalid):
        verify_manifest(document, [key.public_b64])


def test_a_changed_checksum_in_the_manifest_fails(key, manifest):
    document = sign(key, manifest)
    forged = dict(manifest, file=dict(manifest["file"], sha256="0" * 64))
    document["manifest"] = canonical(forged)
    with pytest.raises(SignatureInvalid):
        verify_manifest(document, [key.public_b64])


def test_a_changed_signature_fails(key, manifest):
    document = sign(key, manifest)
    raw = bytearray(base64.b64decode(document["signature"]))
    raw[0] ^= 1
    document["signature"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_manifest(document, [key.public_b64])


@pytest.mark.parametrize("signature", ["", "not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_signature_fails(key, manifest, signature):
    document = dict(sign(key, manifest), signature=signature)
    with pytest.raises(SignatureInvalid):
        verify_manifest(document, [key.public_b64])


def test_a_signature_by_an_untrusted_key_fails(key, manifest):
    stranger = make_key()
    with pytest.raises(SignatureInvalid, match="not among the trusted keys"):
        verify_manifest(sign(stranger, manifest), [key.public_b64])


def test_a_key_id_changed_to_a_trusted_key_fails(key, manifest):
    stranger = make_key()
    document = dict(sign(stranger, manifest), key_id=key.key_id)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_manifest(document, [key.public_b64, stranger.public_b64])


def test_an_unknown_key_id_fails(key, manifest):
    document = dict(sign(key, manifest), key_id="0123456789abcdef")
    with pytest.raises(SignatureInvalid, match="not among the trusted keys"):
        verify_manifest(document, [key.public_b64])


def test_any_of_several_trusted_keys_verifies(key, manifest):
    retired = make_key()
    assert verify_manifest(sign(retired, manifest), [key.public_b64, retired.public_b64])


def test_another_algorithm_is_refused(key, manifest):
    document = dict(sign(key, manifest), algorithm="rsa")
    with pytest.raises(SignatureInvalid, match="algorithm"):
        verify_manifest(document, [key.public_b64])


def test_a_signature_of_the_text_without_the_manifest_prefix_fails(key, manifest):
    # What the same key signs for other purposes (audit checkpoints) never passes as a manifest.
    text = canonical(manifest)
    document = dict(sign(key, manifest), signature=key.sign(text.encode()))
    with pytest.raises(SignatureInvalid):
        verify_manifest(document, [key.public_b64])


@pytest.mark.parametrize("missing", ["manifest", "signature", "key_id", "algorithm"])
def test_a_document_missing_a_field_fails(key, manifest, missing):
    document = sign(key, manifest)
    del document[missing]
    with pytest.raises(SignatureInvalid, match=missing):
        verify_manifest(document, [key.public_b64])


def test_a_validly_signed_text_that_is_no_manifest_is_refused(key):
    with pytest.raises(ManifestMismatch):
        verify_manifest(sign(key, {"type": "labelkeep.audit-checkpoint/v1"}), [key.public_b64])


def test_no_trusted_key_verifies_nothing(key, manifest):
    with pytest.raises(SignatureInvalid, match="none"):
        verify_manifest(sign(key, manifest), [])


@pytest.mark.parametrize(
    "bad", ["", "not a key", base64.b64encode(b"x" * 31).decode(), "/no/such/key.pem"]
)
def test_a_malformed_pinned_key_is_a_configuration_error(bad):
    with pytest.raises(ConfigurationError):
        public_key_raw(bad)


def test_a_pem_key_of_another_kind_is_refused(tmp_path):
    # An X25519 key: same length, different algorithm (its OID ends in 0x6e, Ed25519's in 0x70).
    der = bytes.fromhex("302a300506032b656e032100") + b"\x01" * 32
    pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        + base64.b64encode(der).decode()
        + "\n-----END PUBLIC KEY-----\n"
    )
    with pytest.raises(ConfigurationError, match="Ed25519"):
        public_key_raw(pem)


def test_a_file_that_matches_its_manifest_verifies(tmp_path, manifest):
    path = tmp_path / "data.jsonl"
    path.write_bytes(DATA)
    verify_file(path, manifest)


def test_a_file_with_one_flipped_byte_fails(tmp_path, manifest):
    path = tmp_path / "data.jsonl"
    path.write_bytes(DATA.replace(b"Positive", b"Negative"))
    with pytest.raises(ChecksumMismatch, match="SHA-256"):
        verify_file(path, manifest)


@pytest.mark.parametrize("data", [DATA[:-1], DATA + b"\n", b""])
def test_a_file_of_another_size_fails(tmp_path, manifest, data):
    path = tmp_path / "data.jsonl"
    path.write_bytes(data)
    with pytest.raises(ChecksumMismatch, match="bytes"):
        verify_file(path, manifest)


def test_a_key_the_server_lists_is_never_taken_for_a_file_name(key, tmp_path):
    pem = tmp_path / "pinned.pem"
    pem.write_text(public_pem(key))
    assert public_key_raw(str(pem)) == base64.b64decode(key.public_b64)
    with pytest.raises(ConfigurationError):
        from_base64(str(pem))
