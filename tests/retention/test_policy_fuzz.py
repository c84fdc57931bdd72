"""Fuzzing the policy loader: whatever the file holds, the only exception is PolicyError,
and every policy it accepts can be evaluated (durations stay valid dates) and stored
(its document re-loads to the same digest)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from archiver.core.errors import PolicyError
from archiver.retention.policy import (
    POLICY_KEYS,
    RULE_KEYS,
    SCOPE_KEYS,
    PolicySet,
    from_document,
    load_files,
    parse_policy,
)

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "retention_policies").glob("*.toml"))
SEEDS = [p.read_text(encoding="utf-8") for p in SHIPPED]
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 12, 31, tzinfo=UTC)

# --- documents built from the policy vocabulary, written as TOML ---------------------------

VOCABULARY = [
    *RULE_KEYS,
    *POLICY_KEYS,
    *SCOPE_KEYS,
    *(f"{k}s" for k in SCOPE_KEYS),
    *("policy", "rules", "sent", "ingested", "keep", "delete", "text", "whatsapp"),
    *("*", "Family*", "[x", "what?app", "(", "", " ", "\u0000", "é"),
    *("3 years", "P6Y", "P0D", "0 days", "99999999999 years", "1000 years", "P1000Y13M"),
    *("-1 year", "1 fortnight", "P1Y6M2W3D", "1e9 days", "12001 months"),
]
words = st.sampled_from(VOCABULARY)
scalars = st.one_of(
    words,
    st.text(max_size=12),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(words | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
rule_tables = st.dictionaries(words, values, max_size=7)
documents = st.fixed_dictionaries(
    {},
    optional={
        "policy": st.one_of(st.dictionaries(words, values, max_size=4), values),
        "rules": st.one_of(st.lists(rule_tables, max_size=4), values),
        "extra": values,
    },
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_value(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(doc: dict[str, Any]) -> str:
    return "".join(f"{toml_value(k)} = {toml_value(v)}\n" for k, v in doc.items())


def check(text: str) -> None:
    """``parse_policy`` either raises PolicyError or returns a policy that evaluates and
    round-trips."""
    try:
        policy = parse_policy(text, "fuzz.toml")
    except PolicyError as exc:
        assert str(exc).startswith("fuzz.toml"), exc
        return
    for rule in policy.rules:
        for duration in (rule.retain, rule.delete_after):
            if duration is not None:
                assert duration.after(EARLIEST) > EARLIEST
                assert duration.after(LATEST).year <= 9999
    stored = PolicySet((policy,))
    again = from_document(json.loads(json.dumps(stored.document())), 1, False)
    assert again.sha256() == stored.sha256()


@settings(max_examples=300, deadline=None)
@given(doc=documents)
@example(doc={"policy": {"name": "p"}, "rules": [{"name": "r", "retain": "1" * 5000 + " days"}]})
@example(doc={"policy": {"name": "p"}, "rules": [{"name": "r", "retain": "P99999999Y"}]})
@example(
    doc={
        "policy": {"name": "p"},
        "rules": [{"name": "r", "retain": "1 year", "scope": {"platform": "(["}}],
    }
)
@example(doc={"policy": {"name": "p", "description": 3}, "rules": [{"name": "r", "retain": "P1Y"}]})
def test_structured_documents_raise_only_policy_error(doc: dict[str, Any]) -> None:
    check(toml_document(doc))


# --- mutations of the shipped policy files ---------------------------------------------------

edits = st.lists(
    st.tuples(
        st.sampled_from(["delete", "insert", "duplicate", "swap"]),
        st.integers(0, 4000),
        st.integers(0, 60),
        st.sampled_from(
            ['"', "[", "]", "{", "}", "=", ",", "\n", "*", "#", "0", "P", "years", "\\"]
        )
        | st.text(max_size=8),
    ),
    min_size=1,
    max_size=6,
)


def mutate(text: str, edit_list: list[tuple[str, int, int, str]]) -> str:
    for kind, at, length, chunk in edit_list:
        at %= len(text) + 1
        if kind == "delete":
            text = text[:at] + text[at + length :]
        elif kind == "insert":
            text = text[:at] + chunk + text[at:]
        elif kind == "duplicate":
            text = text[:at] + text[at : at + length] + text[at:]
        else:
            lines = text.split("\n")
            i, j = at % len(lines), (at + length) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


@settings(max_examples=300, deadline=None)
@given(seed=st.sampled_from(SEEDS), edit_list=edits)
def test_mutated_policy_files_raise_only_policy_error(
    seed: str, edit_list: list[tuple[str, int, int, str]]
) -> None:
    check(mutate(seed, edit_list))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = " + "[" * 5000 + "]" * 5000, "not a policy file: arrays or tables nested too deep"),
        ("name = '\ud800'", "not UTF-8 text"),
    ],
)
def test_hostile_texts_are_refused_plainly(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "fuzz.toml")
    assert str(err.value) == f"fuzz.toml: {message}"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300) | st.sampled_from([s.encode() for s in SEEDS]))
def test_policy_files_of_any_bytes_raise_only_policy_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(data)
    try:
        load_files([path])
    except PolicyError as exc:
        assert str(exc).startswith(str(path)), exc


def test_a_file_too_large_to_be_a_policy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_bytes(b"# " + b"x" * (1 << 20) + b"\n")
    with pytest.raises(PolicyError) as err:
        load_files([path])
    assert str(err.value) == (
        f"{path}: larger than 1024 KiB, which no policy file needs; check that this is the "
        "right file"
    )
