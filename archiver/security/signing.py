"""Signed statements: one format for every file archiver signs.

Audit-trail exports, purge certificates, export manifests and production manifest
signatures are JSON documents::

    {"format": "archiver-signed", "version": 1, "type": "purge-certificate",
     "archive_id": "...", "signed_at": "...Z", "key_fingerprint": "ab12:...",
     "payload": {...}, "signature": "<base64 Ed25519 signature>"}

The signature covers the canonical JSON (sorted keys, no spaces, UTF-8) of the document
without its ``signature`` member. ``verify_document`` needs only the public key, kept
outside the archive (``archiver key public``), so a third party can check the file
without the archive key.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from archiver.core import crypto
from archiver.core.errors import InputError, SignatureInvalid
from archiver.core.zones import format_time

FORMAT = "archiver-signed"
VERSION = 1
TYPES = ("audit-export", "purge-certificate", "export-manifest", "production-manifest")


def canonical(doc: dict[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_document(
    keys: tuple[bytes, bytes],
    archive_id: str,
    doc_type: str,
    payload: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    """A signed document of ``doc_type`` carrying ``payload``, signed with the archive's
    (private, public) Ed25519 key pair (``Store.signing_keys``)."""
    if doc_type not in TYPES:
        raise ValueError(doc_type)
    private, public = keys
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "type": doc_type,
        "archive_id": archive_id,
        "signed_at": format_time(at),
        "key_fingerprint": crypto.fingerprint(public),
        "payload": payload,
    }
    doc["signature"] = crypto.b64e(crypto.sign(private, canonical(doc)))
    return doc


def dumps(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def load_public_key(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read public key {path}: {exc.strerror}") from None
    try:
        return crypto.load_public_key_pem(data)
    except crypto.CryptoFailure:
        raise InputError(
            f"{path} is not an archiver public key (PEM, from `archiver key public --out`)"
        ) from None


def verify_document(data: bytes, public: bytes, label: str) -> dict[str, Any]:
    """The verified document, or ``SignatureInvalid`` saying what is wrong with ``label``."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise SignatureInvalid(
            f"{label} is not valid JSON; it was damaged or is not signed"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SignatureInvalid(f"{label} is not an archiver signed file")
    if doc.get("version") != VERSION:
        raise SignatureInvalid(
            f"{label} has signed-file version {doc.get('version')!r}; expected {VERSION}"
        )
    fingerprint = crypto.fingerprint(public)
    if doc.get("key_fingerprint") != fingerprint:
        raise SignatureInvalid(
            f"{label} was signed by key {doc.get('key_fingerprint')}, not by the given public "
            f"key {fingerprint}"
        )
    try:
        signature = crypto.b64d(str(doc.get("signature", "")))
        crypto.verify_signature(public, signature, canonical(doc))
    except crypto.CryptoFailure:
        raise SignatureInvalid(
            f"{label}: the signature does not match its content; the file was altered after "
            "it was signed"
        ) from None
    return doc
