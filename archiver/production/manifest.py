"""``manifest.json`` and ``manifest.sig``: what a production holds, and proof of it.

``manifest.json`` names the archive, matter, production, query and options, time zone,
counts, creation time and tool version, the fonts PDFs were set in, every document with
its Bates range, every file with its size, SHA-256 and MD5, and every message produced
(archive id, hit or context, the first Bates number of its document). It is written as
it goes, so its size does not weigh on memory.

``manifest.sig`` is a signed document of the archive (the one signed-file format of
``archiver.security.signing``, type ``production-manifest``) carrying the SHA-256 and size of
``manifest.json``: with the archive's public key alone, ``verify_production`` checks the
signature, then the manifest, then every file, and names the first one that differs, is
missing or was added.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from archiver.core.errors import DamageFound, InputError, ProductionDamaged
from archiver.production.outdir import OutDir, Written
from archiver.security import signing
from archiver.store.database import Store

FORMAT = "archiver-production"
VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"


def _chunks(head: dict[str, Any], lists: dict[str, Iterable[Any]]) -> Iterator[bytes]:
    """``head`` plus the (streamed) ``lists`` as one JSON object, one list item a line."""
    opening = json.dumps(head, ensure_ascii=False, indent=1, sort_keys=True)
    yield opening[:-2].encode()
    for name, items in lists.items():
        yield f',\n "{name}": ['.encode()
        first = True
        for item in items:
            sep = "\n  " if first else ",\n  "
            yield (sep + json.dumps(item, ensure_ascii=False, sort_keys=True)).encode()
            first = False
        yield b"\n ]" if not first else b"]"
    yield b"\n}\n"


def write(
    out: OutDir,
    head: dict[str, Any],
    documents: list[dict[str, Any]],
    messages: Iterable[list[Any]],
) -> Written:
    """Write ``manifest.json``: ``head``, the files written so far, documents, messages."""
    files = [w.as_dict() for w in sorted(out.written, key=lambda w: w.path)]
    doc = {"format": FORMAT, "version": VERSION, **head}
    with out.create(MANIFEST) as fh:
        for piece in _chunks(doc, {"files": files, "documents": documents, "messages": messages}):
            fh.write(piece)
    return out.written[-1]


def sign(
    out: OutDir,
    store: Store,
    archive_id: str,
    manifest: Written,
    about: dict[str, Any],
    at: datetime,
) -> None:
    payload = {"manifest": MANIFEST, "sha256": manifest.sha256, "size": manifest.size, **about}
    signed = signing.sign_document(
        store.signing_keys(), archive_id, "production-manifest", payload, at
    )
    data = signing.dumps(signed)
    path = out.root / SIGNATURE
    path.write_bytes(data)
    path.chmod(0o600)


def _digest(path: Path) -> tuple[int, str, str]:
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest(), md5.hexdigest()


def _listed(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
    }


def verify(root: Path, public: bytes) -> dict[str, Any]:
    """Check a production folder with the archive's public key alone; raise
    ``DamageFound`` naming the first file that differs, is missing or was added."""
    sig_path, man_path = root / SIGNATURE, root / MANIFEST
    if not root.is_dir():
        raise InputError(f"{root} is not a folder; give the folder a production was written to")
    for needed in (sig_path, man_path):
        if not needed.is_file():
            raise DamageFound(f"{needed} is missing: this is not a complete production")
    signed = signing.verify_document(sig_path.read_bytes(), public, str(sig_path))
    payload = signed["payload"]
    size, sha, _ = _digest(man_path)
    if (size, sha) != (payload.get("size"), payload.get("sha256")):
        raise DamageFound(f"{man_path} differs from the one that was signed (sha256 {sha})")
    manifest = json.loads(man_path.read_bytes())
    problems: list[str] = []
    listed = {f["path"]: f for f in manifest["files"]}
    for rel in sorted(listed):
        f, path = listed[rel], root / rel
        if not path.is_file() or path.is_symlink():
            problems.append(f"{rel} is missing")
            continue
        got = _digest(path)
        if got != (f["size"], f["sha256"], f["md5"]):
            problems.append(f"{rel} differs (sha256 {got[1]}, expected {f['sha256']})")
    extra = sorted(_listed(root) - set(listed) - {MANIFEST, SIGNATURE})
    problems += [f"{rel} was added (it is not in the manifest)" for rel in extra]
    report = {
        "folder": str(root),
        "matter": manifest.get("matter"),
        "production": manifest.get("production"),
        "signed_at": signed["signed_at"],
        "key_fingerprint": signed["key_fingerprint"],
        "files": len(listed),
        "documents": len(manifest.get("documents", [])),
        "messages": manifest.get("counts", {}).get("messages"),
        "problems": problems,
    }
    if problems:
        more = f" ({len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ProductionDamaged(f"{root}: {problems[0]}{more}", report)
    return report
