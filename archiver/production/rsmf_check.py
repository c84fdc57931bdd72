"""Checking RSMF files: the schema and what Relativity's validator checks beyond it.

``manifest_problems`` validates a manifest against Relativity's published JSON Schema
for RSMF 2.0.0 (bundled beside this module with its BSD-3 licence) and then checks what
the schema cannot: every participant, conversation, parent and custodian reference
resolves, ids are unique. ``zip_problems`` adds that every avatar, icon and attachment
the manifest names is in the zip and every file in the zip is named. ``rsmf_problems``
checks the whole ``.rsmf`` file: the ``X-RSMF-Version`` header and exactly one
attachment, ``rsmf.zip``, in base64. Each returns a list of problems (empty: valid).
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import zipfile
from functools import cache
from importlib import resources
from typing import Any

MANIFEST = "rsmf_manifest.json"


@cache
def _validator() -> Any:
    import jsonschema

    text = resources.files("archiver.production").joinpath("rsmf_schema/rsmf_schema_2_0_0.json")
    schema = json.loads(text.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def _where(path: Any) -> str:
    return "/".join(str(p) for p in path) or "(top)"


def manifest_problems(doc: Any) -> list[str]:
    problems = [f"{_where(e.absolute_path)}: {e.message}" for e in _validator().iter_errors(doc)]
    if problems or not isinstance(doc, dict):
        return problems
    people = [p.get("id") for p in doc.get("participants", [])]
    convs = [c.get("id") for c in doc.get("conversations", [])]
    events = [e.get("id") for e in doc.get("events", []) if "id" in e]
    for kind, ids in (("participant", people), ("conversation", convs), ("event", events)):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        problems += [f"{kind} id {d!r} is used twice" for d in dupes]
    known, known_convs, known_events = set(people), set(convs), set(events)
    for c in doc.get("conversations", []):
        for pid in c.get("participants", []):
            if pid not in known:
                problems.append(f"conversation {c['id']!r}: participant {pid!r} is not defined")
        if "custodian" in c and c["custodian"] not in known:
            problems.append(
                f"conversation {c['id']!r}: custodian {c['custodian']!r} is not defined"
            )
    for i, e in enumerate(doc.get("events", [])):
        label = f"event {e.get('id', i)!r}"
        if "participant" in e and e["participant"] not in known:
            problems.append(f"{label}: participant {e['participant']!r} is not defined")
        if "conversation" in e and e["conversation"] not in known_convs:
            problems.append(f"{label}: conversation {e['conversation']!r} is not defined")
        if "parent" in e and e["parent"] not in known_events:
            problems.append(f"{label}: parent {e['parent']!r} is not an event of the manifest")
        for edit in e.get("edits", []):
            if edit.get("participant") not in known:
                problems.append(
                    f"{label}: edit by undefined participant {edit.get('participant')!r}"
                )
        for r in e.get("reactions", []):
            problems += [
                f"{label}: reaction by undefined participant {p!r}"
                for p in r.get("participants", [])
                if p not in known
            ]
    return problems


def referenced_files(doc: dict[str, Any]) -> set[str]:
    files = {p["avatar"] for p in doc.get("participants", []) if "avatar" in p}
    files |= {c["icon"] for c in doc.get("conversations", []) if "icon" in c}
    for e in doc.get("events", []):
        files |= {a["id"] for a in e.get("attachments", []) if "id" in a}
    return files


def zip_problems(data: bytes) -> list[str]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        return [f"rsmf.zip is not a zip file ({exc})"]
    names = set(zf.namelist())
    if MANIFEST not in names:
        return [f"rsmf.zip has no {MANIFEST}"]
    try:
        doc = json.loads(zf.read(MANIFEST))
    except ValueError as exc:
        return [f"{MANIFEST} is not JSON ({exc})"]
    problems = manifest_problems(doc)
    if not isinstance(doc, dict):
        return problems
    wanted = referenced_files(doc)
    problems += [
        f"{name!r} is named in the manifest but not in rsmf.zip" for name in sorted(wanted - names)
    ]
    problems += [
        f"{name!r} is in rsmf.zip but the manifest does not name it"
        for name in sorted(names - wanted - {MANIFEST})
    ]
    return problems


def rsmf_problems(data: bytes) -> list[str]:
    """Problems of a whole ``.rsmf`` file (the EML), its zip and manifest included."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    problems = []
    if msg.get("X-RSMF-Version") is None:
        problems.append("the X-RSMF-Version header is missing")
    attachments = list(msg.iter_attachments())
    if len(attachments) != 1:
        names = ", ".join(str(a.get_filename()) for a in attachments) or "none"
        return [
            *problems,
            f"an RSMF file has exactly one attachment, rsmf.zip; found "
            f"{len(attachments)} ({names})",
        ]
    part = attachments[0]
    if part.get_filename() != "rsmf.zip":
        problems.append(f"the attachment is {part.get_filename()!r}, not 'rsmf.zip'")
    if str(part.get("Content-Transfer-Encoding", "")).lower() != "base64":
        problems.append("rsmf.zip is not base64-encoded")
    payload = part.get_payload(decode=True)
    return problems + zip_problems(payload if isinstance(payload, bytes) else b"")
