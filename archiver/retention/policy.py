"""Retention policy files: parsing, validation, durations, and the preservation lock.

Pure: TOML bytes in, frozen rules out. A policy file looks like::

    [policy]
    name = "sec-17a-4-communications"
    citation = "SEA Rule 17a-4(b)(4)"

    [[rules]]
    name = "business-communications"
    scope = { platform = ["whatsapp", "telegram"], custodian = ["*@broker.example"] }
    basis = "sent"          # or "ingested"
    retain = "3 years"      # keep at least this long
    then = "delete"         # or "keep" (the default)

    [[rules]]
    name = "minimise-personal-chats"
    scope = { chat = ["Family*"] }
    delete_after = "2 years"  # delete-only rule

    [[rules]]
    name = "business-chats"
    exclude = { chat = ["Family*"] }   # everything except the family chats
    retain = "6 years"
    then = "delete"

Scope keys are lists of case-insensitive globs (``*``, ``?``, ``[abc]``); a message is
in a rule's scope when, for every key, one of its values matches one of the globs. A
rule without a scope, or whose every list is ``["*"]``, is org-wide. ``exclude`` takes
the same keys and takes out every message with a value matching one of its globs (any
key); exclusions do not make an org-wide rule scoped. Keys may be written singular or
plural (``chat`` or ``chats``). Durations are ``N year(s)|month(s)|week(s)|day(s)`` or
ISO 8601 (``P6Y``, ``P18M``, ``P1Y6M``, ``P2W``), calendar-correct via ``relativedelta``,
at most ``MAX_YEARS``. Every error names the file, the rule and the field, and no input
raises anything but ``PolicyError``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta

from archiver.core.errors import PolicyError
from archiver.core.model import KINDS, PLATFORMS

SCOPE_KEYS = ("platform", "custodian", "chat", "participant", "kind")
RULE_KEYS = (
    "name",
    "description",
    "citation",
    "scope",
    "exclude",
    "basis",
    "retain",
    "then",
    "delete_after",
)
POLICY_KEYS = ("name", "description", "citation", "owner", "jurisdiction")
BASES = ("sent", "ingested")
THENS = ("keep", "delete")
# The longest duration accepted: any message time plus it stays a valid date.
MAX_YEARS = 1000
# A policy file is a few kilobytes; anything far larger is not one.
MAX_FILE_BYTES = 1 << 20

_NUMBER = r"(\d{1,9})"
_WORDS = re.compile(rf"^\s*{_NUMBER}\s*(year|month|week|day)s?\s*$", re.IGNORECASE)
_ISO = re.compile(
    rf"^P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?$", re.IGNORECASE
)
# Reference dates for comparing calendar durations (month ends, leap days).
_REFERENCES = [
    datetime(2000 + y, m, d)
    for y in range(4)
    for m, d in ((1, 31), (2, 28), (3, 31), (6, 30), (12, 31))
]


@dataclass(frozen=True)
class Duration:
    """A calendar duration as written (``"3 years"``) and its ``relativedelta``."""

    text: str
    years: int = 0
    months: int = 0
    days: int = 0

    @property
    def delta(self) -> relativedelta:
        return relativedelta(years=self.years, months=self.months, days=self.days)

    def after(self, start: datetime) -> datetime:
        return start + self.delta

    def at_least(self, other: Duration) -> bool:
        """Whether this duration is never shorter than ``other``, whatever the start date."""
        return all(ref + self.delta >= ref + other.delta for ref in _REFERENCES)


def parse_duration(text: Any, where: str) -> Duration:
    if not isinstance(text, str):
        raise PolicyError(f'{where}: expected a duration such as "3 years" or "P6Y", got {text!r}')
    words = _WORDS.match(text)
    if words:
        n, unit = int(words.group(1)), words.group(2).lower()
        years, months, days = {
            "year": (n, 0, 0),
            "month": (0, n, 0),
            "week": (0, 0, 7 * n),
            "day": (0, 0, n),
        }[unit]
    else:
        iso = _ISO.match(text.strip())
        if not iso or not any(iso.groups()):
            raise PolicyError(
                f'{where}: {text!r} is not a duration; write e.g. "6 years", "18 months", '
                '"90 days" or ISO 8601 "P6Y", "P18M"'
            )
        y, m, w, d = (int(g or 0) for g in iso.groups())
        years, months, days = y, m, 7 * w + d
    if years == months == days == 0:
        raise PolicyError(f"{where}: a duration of zero ({text!r}) is not allowed")
    if (years * 12 + months) * 31 + days > MAX_YEARS * 12 * 31:
        raise PolicyError(
            f"{where}: {text!r} is longer than {MAX_YEARS} years; a rule that only retains "
            '(no then = "delete", no delete_after) already keeps messages forever'
        )
    return Duration(text.strip(), years, months, days)


@dataclass(frozen=True)
class Rule:
    """One retention rule, normalized."""

    policy: str
    name: str
    scope: tuple[tuple[str, tuple[str, ...]], ...]
    basis: str
    retain: Duration | None
    then: str
    delete_after: Duration | None
    citation: str | None = None
    description: str | None = None
    exclude: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.policy}/{self.name}"

    @property
    def org_wide(self) -> bool:
        return all(values == ("*",) for _, values in self.scope)

    @property
    def delete_duration(self) -> Duration | None:
        """When this rule's delete action falls (None: the rule never deletes)."""
        if self.delete_after is not None:
            return self.delete_after
        if self.then == "delete":
            return self.retain
        return None

    def scope_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.scope}

    def exclude_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.exclude}

    def described(self) -> dict[str, Any]:
        """The rule for display: as stored, with its (possibly empty) exclusions."""
        return self.as_dict() | {"exclude": self.exclude_dict()}

    def as_dict(self) -> dict[str, Any]:
        """The rule as stored in a policy set's document (``exclude`` only when given,
        so that the digest of a set loaded before exclusions existed is unchanged)."""
        out = {
            "policy": self.policy,
            "name": self.name,
            "scope": self.scope_dict(),
            "basis": self.basis,
            "retain": self.retain.text if self.retain else None,
            "then": self.then,
            "delete_after": self.delete_after.text if self.delete_after else None,
            "citation": self.citation,
            "description": self.description,
            "org_wide": self.org_wide,
        }
        if self.exclude:
            out["exclude"] = self.exclude_dict()
        return out


@dataclass(frozen=True)
class Policy:
    name: str
    file: str
    sha256: str
    description: str | None
    citation: str | None
    rules: tuple[Rule, ...]
    source: str  # the TOML text as loaded

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "sha256": self.sha256,
            "description": self.description,
            "citation": self.citation,
            "rules": [r.as_dict() for r in self.rules],
            "source": self.source,
        }


@dataclass(frozen=True)
class PolicySet:
    policies: tuple[Policy, ...] = ()
    version: int | None = None
    locked: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rules(self) -> list[Rule]:
        return [r for p in self.policies for r in p.rules]

    def document(self) -> dict[str, Any]:
        return {"policies": [p.as_dict() for p in self.policies]}

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.document(), sort_keys=True).encode()).hexdigest()


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise PolicyError(f"{where}: expected a list of non-empty strings (globs), got {value!r}")
    return tuple(value)


# Plural spellings of the scope keys (``exclude = { chats = [...] }`` reads naturally).
_PLURALS = {f"{key}s": key for key in SCOPE_KEYS}
_FIXED_VALUES = {"platform": PLATFORMS, "kind": KINDS}


Scope = tuple[tuple[str, tuple[str, ...]], ...]


def _scope(raw: Any, where: str, *, exclude: bool = False) -> Scope:
    """A scope or exclude table, keys made singular and sorted."""
    if raw is None:
        return ()
    table = "exclude" if exclude else "scope"
    if not isinstance(raw, dict):
        raise PolicyError(f'{where}: expected a table such as {{ chat = ["Family*"] }}')
    out: dict[str, tuple[str, ...]] = {}
    for written, value in raw.items():
        key = _PLURALS.get(written, written)
        here = f"{where}.{written}"
        if key not in SCOPE_KEYS:
            raise PolicyError(f"{here}: unknown {table} key; use {', '.join(SCOPE_KEYS)}")
        if key in out:
            raise PolicyError(f"{where}: give {key} or {key}s, not both")
        values = _strings(value, here)
        for v in values:
            if exclude and v.strip("*") == "":
                raise PolicyError(
                    f"{here}: {v!r} would exclude every message; remove the rule instead"
                )
            known = _FIXED_VALUES.get(key)
            if known and v != "*" and not any(fnmatch.fnmatchcase(k, v.casefold()) for k in known):
                raise PolicyError(f"{here}: {v!r} matches no {key} ({', '.join(known)})")
        out[key] = values
    return tuple(sorted(out.items()))


def _rule(raw: Any, policy: str, index: int, file: str) -> Rule:
    if not isinstance(raw, dict):
        raise PolicyError(f"{file}: rules[{index}] must be a table ([[rules]])")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PolicyError(f'{file}: rules[{index}]: every rule needs a name = "..."')
    where = f"{file}: rule {name!r}"
    for key in raw:
        if key not in RULE_KEYS:
            raise PolicyError(
                f"{where}: unknown field {key!r}; rule fields are {', '.join(RULE_KEYS)}"
            )
    basis = raw.get("basis", "sent")
    if basis not in BASES:
        raise PolicyError(f'{where}: basis must be "sent" or "ingested", not {basis!r}')
    then = raw.get("then", "keep")
    if then not in THENS:
        raise PolicyError(f'{where}: then must be "keep" or "delete", not {then!r}')
    retain = parse_duration(raw["retain"], f"{where}: retain") if "retain" in raw else None
    delete_after = (
        parse_duration(raw["delete_after"], f"{where}: delete_after")
        if "delete_after" in raw
        else None
    )
    if retain is None and delete_after is None:
        raise PolicyError(f'{where}: give retain = "..." (keep at least) or delete_after = "..."')
    if retain is not None and delete_after is not None:
        raise PolicyError(
            f'{where}: use either retain (with then = "delete" to delete when it ends) or '
            "delete_after, not both; write two rules for two periods"
        )
    if then == "delete" and retain is None:
        raise PolicyError(
            f'{where}: then = "delete" needs retain = "..." (use delete_after alone instead)'
        )
    for text_field in ("citation", "description"):
        if text_field in raw and not isinstance(raw[text_field], str):
            raise PolicyError(f"{where}: {text_field} must be a string")
    return Rule(
        policy=policy,
        name=name.strip(),
        scope=_scope(raw.get("scope"), f"{where}: scope"),
        exclude=_scope(raw.get("exclude"), f"{where}: exclude", exclude=True),
        basis=basis,
        retain=retain,
        then=then,
        delete_after=delete_after,
        citation=raw.get("citation"),
        description=raw.get("description"),
    )


def parse_policy(text: str, file: str) -> Policy:
    """One policy file, validated."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise PolicyError(f"{file}: not UTF-8 text") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{file}: not valid TOML: {exc}") from None
    except RecursionError:
        raise PolicyError(f"{file}: not a policy file: arrays or tables nested too deep") from None
    for key in doc:
        if key not in ("policy", "rules"):
            raise PolicyError(
                f"{file}: unknown table {key!r}; a policy file has [policy] and [[rules]]"
            )
    head = doc.get("policy")
    if (
        not isinstance(head, dict)
        or not isinstance(head.get("name"), str)
        or not head["name"].strip()
    ):
        raise PolicyError(f'{file}: missing [policy] table with name = "..."')
    for key in head:
        if key not in POLICY_KEYS:
            raise PolicyError(
                f"{file}: [policy] has unknown field {key!r}; use {', '.join(POLICY_KEYS)}"
            )
        if key != "name" and not isinstance(head[key], str):
            raise PolicyError(f"{file}: [policy] {key} must be a string")
    name = head["name"].strip()
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PolicyError(f"{file}: policy {name!r} has no [[rules]]")
    rules = tuple(_rule(r, name, i, file) for i, r in enumerate(raw_rules))
    seen: set[str] = set()
    for r in rules:
        if r.name in seen:
            raise PolicyError(f"{file}: rule name {r.name!r} appears twice in policy {name!r}")
        seen.add(r.name)
    return Policy(
        name=name,
        file=file,
        sha256=hashlib.sha256(data).hexdigest(),
        description=head.get("description"),
        citation=head.get("citation"),
        rules=rules,
        source=text,
    )


def load_files(paths: list[Path]) -> PolicySet:
    """Policy files from files and folders (``*.toml``, sorted), validated as a set."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.toml"))
            if not found:
                raise PolicyError(f"{path}: no *.toml policy files in this folder")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise PolicyError(f"{path} does not exist")
    policies = []
    names: dict[str, str] = {}
    for f in files:
        text = _read(f)
        policy = parse_policy(text, str(f))
        if policy.name in names:
            raise PolicyError(
                f"{f}: policy name {policy.name!r} is also used by {names[policy.name]}"
            )
        names[policy.name] = str(f)
        policies.append(policy)
    return PolicySet(tuple(policies))


def _read(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise PolicyError(
            f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB, which no policy file needs; "
            "check that this is the right file"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as text mode reads it


def from_document(doc: dict[str, Any], version: int, locked: bool) -> PolicySet:
    """A stored policy set, re-validated from the TOML text it was loaded from."""
    policies = tuple(parse_policy(p["source"], p["file"]) for p in doc.get("policies", []))
    return PolicySet(policies, version=version, locked=locked)


def lock_violations(old: PolicySet, new: PolicySet) -> list[str]:
    """Why ``new`` may not replace a locked ``old`` (empty: it may).

    Preservation lock: every existing rule stays, unchanged except for a longer
    ``retain``; new rules may only retain (no delete action)."""
    problems = []
    new_rules = {r.key: r for r in new.rules}
    old_keys = {r.key for r in old.rules}
    for o in old.rules:
        n = new_rules.get(o.key)
        if n is None:
            problems.append(f"rule {o.key} would be removed")
            continue
        if (n.scope, n.exclude, n.basis, n.then) != (o.scope, o.exclude, o.basis, o.then):
            problems.append(f"rule {o.key} would change its scope, exclusions, basis or action")
        if (n.delete_after is None) != (o.delete_after is None) or (
            n.delete_after and o.delete_after and n.delete_after != o.delete_after
        ):
            problems.append(f"rule {o.key} would change delete_after")
        if o.retain is not None and (n.retain is None or not n.retain.at_least(o.retain)):
            shown = n.retain.text if n.retain else "none"
            problems.append(f"rule {o.key} would shorten retain from {o.retain.text} to {shown}")
    for key, n in new_rules.items():
        if key not in old_keys and n.delete_duration is not None:
            problems.append(
                f"new rule {key} has a delete action; a locked set accepts only retain rules"
            )
    return problems
