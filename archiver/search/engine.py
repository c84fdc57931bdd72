"""eDiscovery search: compile the query AST to FTS5 + SQL, count exactly, page fast.

Text terms become one FTS5 ``MATCH`` expression built from quoted strings (user text is
never passed through unparsed); field filters become SQL predicates on ``messages``;
date filters become ranges of message ids, which are ordered by time, so they are pushed
into the full-text scan as rowid bounds. Date order (newest first) is a rowid scan;
relevance (bm25) is computed only when asked.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from archiver.archive.session import Archive
from archiver.core import identity
from archiver.core import tokens as textindex
from archiver.core.errors import NotFound, QueryError
from archiver.core.model import KINDS, PLATFORMS
from archiver.core.names import phone_digits
from archiver.search.query import SYNTAX, And, Field, Near, Node, Not, Or, Phrase, Term, analyze
from archiver.search.records import iter_records, message_records
from archiver.store import auditlog
from archiver.store.auditlog import Invocation
from archiver.store.database import Store, check_zone

SORTS = ("date", "relevance")
_WORD = re.compile(r"\w+")


# --- text terms -> FTS5 ---------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _has_token(text: str) -> bool:
    return _WORD.search(text) is not None


def _text_expr(text: str, prefix: bool, column: int, query: str) -> str:
    """One word or phrase as FTS5: Latin parts in any column, CJK runs as bigram phrases."""
    if not _has_token(text):
        raise QueryError(f"{text!r} has no letters or digits to search for", query, column)
    text = text.casefold()
    if textindex.CJK_RUN.search(text) is None:
        return _quote(text) + (" *" if prefix else "")
    parts = []
    rest = textindex.CJK_RUN.sub(" ", text).strip()
    if rest:
        parts.append(_quote(rest))
    for run in textindex.CJK_RUN.findall(text):
        grams = textindex.bigrams(run)
        star = " *" if prefix or len(run) == 1 else ""
        parts.append("cjk : " + _quote(" ".join(grams)) + star)
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def _fts_ok(node: Node) -> bool:
    """Whether FTS5 can express ``node`` alone: its NOT only subtracts from something."""
    if isinstance(node, Term | Phrase | Near):
        return True
    if isinstance(node, Or):
        return all(not isinstance(c, Not) and _fts_ok(c) for c in node.children)
    if isinstance(node, And):
        positives = [c for c in node.children if not isinstance(c, Not)]
        negatives = [c.child for c in node.children if isinstance(c, Not)]
        return bool(positives) and all(_fts_ok(c) for c in positives + negatives)
    return False


def _fts(node: Node, query: str) -> str:
    """The FTS5 expression of a node for which ``_fts_ok`` holds."""
    if isinstance(node, Term):
        return _text_expr(node.text, node.prefix, node.column, query)
    if isinstance(node, Phrase):
        return _text_expr(node.text, False, node.column, query)
    if isinstance(node, Near):
        if any(textindex.CJK_RUN.search(i.text) for i in node.items):
            # NEAR cannot hold column filters; CJK runs are matched as plain AND.
            return "(" + " AND ".join(_fts(i, query) for i in node.items) + ")"
        inner = " ".join(_fts(i, query) for i in node.items)
        return f"NEAR({inner}, {node.distance})"
    if isinstance(node, Or):
        return "(" + " OR ".join(_fts(c, query) for c in node.children) + ")"
    if isinstance(node, And):
        positives = [c for c in node.children if not isinstance(c, Not)]
        negatives = [c.child for c in node.children if isinstance(c, Not)]
        return _subtract([_fts(c, query) for c in positives], [_fts(c, query) for c in negatives])
    raise AssertionError(node)


def _subtract(positives: list[str], negatives: list[str]) -> str:
    """``(p1 AND p2) NOT (n1 OR n2)``: one NOT however many are subtracted (FTS5's parser
    has a depth limit that a chain of nested NOTs would reach)."""
    expr = "(" + " AND ".join(positives) + ")"
    if negatives:
        expr += " NOT (" + " OR ".join(negatives) + ")"
    return expr


def positive_terms(node: Node) -> Iterator[tuple[str, bool]]:
    """(word, is_prefix) for every searched word outside NOT, for highlighting."""
    if isinstance(node, Term):
        for w in _WORD.findall(node.text):
            yield w, node.prefix
    elif isinstance(node, Phrase):
        for w in _WORD.findall(node.text):
            yield w, False
    elif isinstance(node, Near):
        for item in node.items:
            yield from positive_terms(item)
    elif isinstance(node, And | Or):
        for c in node.children:
            yield from positive_terms(c)


# --- filters -> SQL -------------------------------------------------------------------------


@dataclass
class Plan:
    """A compiled query: an optional FTS5 expression, SQL predicates, an id range."""

    fts: str | None = None
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    id_lo: int | None = None
    id_hi: int | None = None  # exclusive
    terms: list[tuple[str, bool]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {"fts": self.fts, "where": self.where, "id_range": [self.id_lo, self.id_hi]}


def fold(text: str) -> str:
    """Case- and accent-insensitive form, as FTS5's unicode61 remove_diacritics sees it."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def name_matches(pattern: str, *candidates: str | None) -> bool:
    """Names match case- and accent-insensitively: equal, a glob (``Dana*``), or the pattern's
    words appearing as consecutive whole words of the name (``Dana`` ~ ``Dana Whitfield``);
    phone numbers match on their digits in any formatting."""
    p = fold(pattern.strip())
    digits = phone_digits(pattern)
    p_words = _WORD.findall(p)
    for cand in candidates:
        if not cand:
            continue
        c = fold(cand.strip())
        if c == p or (any(ch in p for ch in "*?[") and fnmatch.fnmatchcase(c, p)):
            return True
        words = _WORD.findall(c)
        if p_words and any(words[i : i + len(p_words)] == p_words for i in range(len(words))):
            return True
        cd = phone_digits(cand)
        if (
            digits
            and cd
            and (cd.endswith(digits) or digits.endswith(cd))
            and min(len(cd), len(digits)) >= 7
        ):
            return True
    return False


def _participants(store: Store, value: str) -> list[int]:
    rows = store.execute("SELECT id, key, name, phone, person_id FROM participants").fetchall()
    direct = {
        r[0]
        for r in rows
        if name_matches(value, r[2], r[1]) or (r[3] and name_matches(value, "+" + r[3]))
    }
    persons = {r[4] for r in rows if r[0] in direct and r[4] is not None}
    persons |= {
        int(p[0])
        for p in store.execute("SELECT id, name FROM persons").fetchall()
        if name_matches(value, p[1])
    }
    return sorted(direct | {r[0] for r in rows if r[4] in persons})


def _no_match(f: Field, what: str, names: list[str | None]) -> str:
    """The warning for a name filter that matches nothing, with the nearest names: the one
    spelled most like the value, else those with the word spelled most like it."""
    value = fold(f.value)
    found: list[str] = []
    for forms in (lambda n: [fold(n)], lambda n: _WORD.findall(fold(n))):
        by_form: dict[str, set[str]] = {}
        for name in filter(None, names):
            for form in forms(name):
                by_form.setdefault(form, set()).add(name)
        near = difflib.get_close_matches(value, list(by_form), n=1, cutoff=0.7)
        found = sorted({name for form in near for name in by_form[form]})
        if found:
            break
    hint = "; nearest: " + ", ".join(found) if found else ""
    return f"{f.name}:{f.value} matches no {what} in the archive, so nothing can match{hint}"


def _day_start(value: str, tz: ZoneInfo, name: str, query: str, column: int, days: int = 0) -> int:
    """The first second of day ``value`` (plus ``days``) in ``tz``."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise QueryError(
            f"{name}: expects a date as YYYY-MM-DD (e.g. {name}:2024-01-31), not {value!r}",
            query,
            column,
        ) from None
    try:
        day += timedelta(days=days)
        return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())
    except (OverflowError, ValueError):
        raise QueryError(f"{name}: {value} is out of range", query, column) from None


def _in_list(ids: list[int]) -> str:
    return "(" + ",".join(str(int(i)) for i in ids) + ")" if ids else "(NULL)"


def _field_sql(store: Store, f: Field, query: str, warnings: list[str]) -> tuple[str, list[Any]]:
    value = f.value
    if f.name in ("from", "participant"):
        people = _participants(store, value)
        if not people:
            names = [r[0] for r in store.execute("SELECT name FROM participants")]
            warnings.append(_no_match(f, "participant", names))
        if f.name == "from":
            return f"m.sender_id IN {_in_list(people)}", []
        ids = _in_list(people)
        return f"m.chat_id IN (SELECT DISTINCT chat_id FROM messages WHERE sender_id IN {ids})", []
    if f.name == "chat":
        rows = store.execute("SELECT id, key, title FROM chats").fetchall()
        chats = [int(r[0]) for r in rows if name_matches(value, r[2], r[1])]
        if not chats:
            warnings.append(_no_match(f, "chat", [r[2] or r[1] for r in rows]))
        return f"m.chat_id IN {_in_list(chats)}", []
    if f.name == "custodian":
        rows = store.execute("SELECT id, name FROM custodians").fetchall()
        held = [int(r[0]) for r in rows if name_matches(value, r[1])]
        if not held:
            warnings.append(_no_match(f, "custodian", [r[1] for r in rows]))
        return (
            f"(m.custodian_id IN {_in_list(held)} OR m.id IN (SELECT message_id FROM "
            f"message_custodians WHERE custodian_id IN {_in_list(held)}))",
            [],
        )
    if f.name == "platform":
        if value.lower() not in PLATFORMS:
            raise QueryError(f"platform: is one of {', '.join(PLATFORMS)}", query, f.column)
        return "m.chat_id IN (SELECT id FROM chats WHERE platform = ?)", [value.lower()]
    if f.name == "kind":
        if value.lower() not in KINDS:
            raise QueryError(f"kind: is one of {', '.join(KINDS)}", query, f.column)
        return "m.kind = ?", [value.lower()]
    if f.name == "has":
        if value.lower() not in ("attachment", "attachments", "file", "media"):
            raise QueryError("has: supports has:attachment", query, f.column)
        return "EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)", []
    if f.name == "edited":
        if value.lower() not in ("true", "false", "yes", "no"):
            raise QueryError("edited: is true or false", query, f.column)
        return "m.edited = ?", [1 if value.lower() in ("true", "yes") else 0]
    raise AssertionError(f.name)


def _is_date(node: Node) -> bool:
    return isinstance(node, Field) and node.name in ("after", "before", "on")


def compile_query(store: Store, query: str, tz: ZoneInfo, *, syntax: int = SYNTAX) -> Plan:
    """The plan of ``query``: its words as one FTS5 expression where FTS5 can say it, every
    filter and every other clause as a SQL predicate, top-level dates as an id range.

    ``syntax`` 1 is for the queries of holds written before syntax 2 (see ``query``)."""
    parsed = analyze(query, syntax)
    plan = Plan(warnings=list(parsed.warnings))
    plan.terms = [t for clause in parsed.text for t in positive_terms(clause)]
    positives = [c for c in parsed.text if not isinstance(c, Not)]
    negatives = [c.child for c in parsed.text if isinstance(c, Not)]
    matched = [c for c in positives if _fts_ok(c)]
    rest: list[Node] = [c for c in positives if not _fts_ok(c)]
    if matched:
        subtracted = [_fts(c, query) for c in negatives if _fts_ok(c)]
        negatives = [c for c in negatives if not _fts_ok(c)]
        plan.fts = _subtract([_fts(c, query) for c in matched], subtracted)
    rest += [Not(c, 0) for c in negatives]
    for clause in [*rest, *parsed.filters, *parsed.mixed]:
        if _is_date(clause):
            _date_bounds(plan, clause, tz, query)  # type: ignore[arg-type]
            continue
        sql, params = _node_sql(store, clause, tz, query, plan.warnings)
        plan.where.append(sql)
        plan.params.extend(params)
    return plan


def _date_range(f: Field, tz: ZoneInfo, query: str) -> tuple[int | None, int | None]:
    """The message ids [lo, hi) that a date filter admits (ids are ordered by time)."""
    start = identity.id_base(_day_start(f.value, tz, f.name, query, f.column))
    if f.name == "after":
        return start, None
    if f.name == "before":
        return None, start
    end = _day_start(f.value, tz, f.name, query, f.column, days=1)
    return start, identity.id_base(end)


def _date_bounds(plan: Plan, f: Field, tz: ZoneInfo, query: str) -> None:
    lo, hi = _date_range(f, tz, query)
    if lo is not None:
        plan.id_lo = lo if plan.id_lo is None else max(plan.id_lo, lo)
    if hi is not None:
        plan.id_hi = hi if plan.id_hi is None else min(plan.id_hi, hi)
    if plan.id_lo is not None and plan.id_hi is not None and plan.id_lo >= plan.id_hi:
        warning = "the date filters leave no day between them, so nothing can match"
        if warning not in plan.warnings:
            plan.warnings.append(warning)


def _node_sql(
    store: Store, node: Node, tz: ZoneInfo, query: str, warnings: list[str]
) -> tuple[str, list[Any]]:
    """Any node as a SQL predicate on ``m``; words go through the FTS5 index."""
    if _fts_ok(node):
        return "m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)", [
            _fts(node, query)
        ]
    if isinstance(node, Field):
        if _is_date(node):
            lo, hi = _date_range(node, tz, query)
            bounds = [("m.id >= ?", lo), ("m.id < ?", hi)]
            return " AND ".join(sql for sql, v in bounds if v is not None), [
                v for _, v in bounds if v is not None
            ]
        return _field_sql(store, node, query, warnings)
    if isinstance(node, Not):
        # A filter on a column that can be NULL (the sender of a system message) is NULL,
        # not false, there; NOT NULL would drop the row: -from:Dana keeps system messages.
        sql, params = _node_sql(store, node.child, tz, query, warnings)
        return f"NOT coalesce(({sql}), 0)", params
    if isinstance(node, And | Or):
        joiner = " AND " if isinstance(node, And) else " OR "
        parts, params = [], []
        for c in node.children:
            sql, p = _node_sql(store, c, tz, query, warnings)
            parts.append(f"({sql})")
            params.extend(p)
        return joiner.join(parts), params
    raise AssertionError(node)


# --- execution ------------------------------------------------------------------------------


PAGE = 50  # rows of a search page when no limit is given


@dataclass
class SearchResult:
    """The exact total of a search and one page of its hits (for people)."""

    query: str
    tz: str
    total: int
    sort: str
    limit: int
    offset: int
    warnings: list[str]
    ids: list[int]
    results: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "tz": self.tz,
            "total": self.total,
            "warnings": self.warnings,
            "results": self.results,
        }


@dataclass
class SearchStream:
    """Every hit of a search (or ``limit`` of them after ``offset``), read lazily from the
    archive: consume ``ids()`` or ``records()`` once, while the archive is open.

    ``expected`` is how many the count promised; ``delivered`` how many were read. They
    differ only if an ingest or purge committed between the count and the reading."""

    query: str
    tz: str
    total: int
    sort: str
    limit: int | None
    offset: int
    warnings: list[str]
    expected: int
    store: Store = field(repr=False)
    plan: Plan = field(repr=False)
    delivered: int = 0

    def head(self) -> dict[str, Any]:
        """The ``search --json`` document without its ``results``."""
        return {"query": self.query, "tz": self.tz, "total": self.total, "warnings": self.warnings}

    def ids(self) -> Iterator[int]:
        for mid in hit_ids(self.store, self.plan, self.sort, self.limit, self.offset):
            self.delivered += 1
            yield mid

    def records(self, snippets: bool = True) -> Iterator[dict[str, Any]]:
        """Message records with times in ``tz`` and, if ``snippets``, the snippet."""
        zone = check_zone(self.tz)
        for rec in iter_records(self.store, self.ids()):
            yield _presented(rec, self.plan, zone) if snippets else local_times(rec, zone)


def _base_sql(plan: Plan) -> tuple[str, list[Any], str]:
    """FROM/WHERE clause, its parameters, and the id column to order by."""
    where: list[str] = []
    params: list[Any] = []
    if plan.fts is not None:
        sql = "FROM messages_fts f"
        idcol = "f.rowid"
        where.append("messages_fts MATCH ?")
        params.append(plan.fts)
        if plan.where:
            sql += " JOIN messages m ON m.id = f.rowid"
    else:
        sql = "FROM messages m"
        idcol = "m.id"
    if plan.id_lo is not None:
        where.append(f"{idcol} >= ?")
        params.append(plan.id_lo)
    if plan.id_hi is not None:
        where.append(f"{idcol} < ?")
        params.append(plan.id_hi)
    where.extend(f"({w})" for w in plan.where)
    params.extend(plan.params)
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, params, idcol


def count(store: Store, plan: Plan) -> int:
    sql, params, _ = _base_sql(plan)
    return int(store.one(f"SELECT count(*) {sql}", params))


def hit_ids(store: Store, plan: Plan, sort: str, limit: int | None, offset: int) -> Iterator[int]:
    """Matching ids in ``sort`` order (newest first, or best first), streamed from one
    statement (one consistent read of the archive). Ordering by relevance sorts every hit
    in memory; date order reads the index in order."""
    sql, params, idcol = _base_sql(plan)
    if sort == "relevance" and plan.fts is not None:
        order = "bm25(messages_fts), f.rowid DESC"
    else:
        order = f"{idcol} DESC"
    rows = store.execute(
        f"SELECT {idcol} {sql} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, -1 if limit is None else limit, offset],
    )
    for (mid,) in rows:
        yield int(mid)


def page(store: Store, plan: Plan, sort: str, limit: int, offset: int) -> list[int]:
    return list(hit_ids(store, plan, sort, limit, offset))


def matching_ids(store: Store, plan: Plan) -> Iterator[int]:
    """Every matching id, oldest first (for export)."""
    sql, params, idcol = _base_sql(plan)
    for (mid,) in store.execute(f"SELECT {idcol} {sql} ORDER BY {idcol}", params):
        yield int(mid)


def snippet(
    text: str, terms: list[tuple[str, bool]], width: int = 12
) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``text`` around the first hit, and the character spans of every hit."""
    wanted = [(fold(t), p) for t, p in terms]
    words = list(_WORD.finditer(text))
    hits = []
    for i, w in enumerate(words):
        f = fold(w.group())
        if any(f == t or (p and f.startswith(t)) for t, p in wanted):
            hits.append(i)
    if not words:
        return text[:200], []
    first = hits[0] if hits else 0
    lo = max(0, first - width // 2)
    hi = min(len(words), lo + width)
    start = words[lo].start() if lo > 0 else 0
    end = words[hi - 1].end() if hi < len(words) else len(text)
    spans = [(words[i].start() - start, words[i].end() - start) for i in hits if lo <= i < hi]
    piece = text[start:end]
    return ("…" if start > 0 else "") + piece + ("…" if end < len(text) else ""), [
        (a + (1 if start > 0 else 0), b + (1 if start > 0 else 0)) for a, b in spans
    ]


def _presented(rec: dict[str, Any], plan: Plan, zone: ZoneInfo) -> dict[str, Any]:
    """A hit as search shows it: its times also in the output zone, and a snippet."""
    text, spans = snippet(
        rec["text"] or " ".join(a["name"] for a in rec["attachments"]), plan.terms
    )
    rec["snippet"] = text
    rec["highlights"] = spans
    return local_times(rec, zone)


def local_times(rec: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """Add ``sent_at_local`` and ``edited_at_local``: the UTC times of the record in
    ``zone``, ISO 8601 with their UTC offset (``2024-01-05T04:00:00-05:00``)."""
    for key in ("sent_at", "edited_at"):
        value = rec.get(key)
        rec[f"{key}_local"] = (
            datetime.fromisoformat(value).astimezone(zone).isoformat() if value else None
        )
    return rec


def _checked(sort: str, limit: int | None, offset: int) -> None:
    if sort not in SORTS:
        raise QueryError(f"--sort is one of {', '.join(SORTS)}")
    if (limit is not None and limit < 0) or offset < 0:
        raise QueryError("--limit and --offset must not be negative")


def search(
    archive: Archive,
    query: str,
    inv: Invocation,
    *,
    tz: str | None = None,
    sort: str = "date",
    limit: int = PAGE,
    offset: int = 0,
) -> SearchResult:
    """Run ``query``: the exact total and one page of message records (newest first), with
    their times in ``tz`` (default: the archive's zone) beside UTC."""
    _checked(sort, limit, offset)
    zone_name = tz or archive.default_tz
    zone = check_zone(zone_name)
    store = archive.store
    with store.transaction():
        plan = compile_query(store, query, zone)
        total = count(store, plan)
        ids = page(store, plan, sort, limit, offset) if limit else []
        records = [_presented(rec, plan, zone) for rec in message_records(store, ids)]
        _audit(store, inv, query, zone_name, total, len(ids), sort)
    return SearchResult(query, zone_name, total, sort, limit, offset, plan.warnings, ids, records)


def stream(
    archive: Archive,
    query: str,
    inv: Invocation,
    *,
    tz: str | None = None,
    sort: str = "date",
    limit: int | None = None,
    offset: int = 0,
) -> SearchStream:
    """Run ``query`` for output of every hit (``limit`` None) in bounded memory.

    The count and the audit entry are committed first, so that the hits are on record
    before a single one is read out; the stream then reads them lazily."""
    _checked(sort, limit, offset)
    zone_name = tz or archive.default_tz
    zone = check_zone(zone_name)
    store = archive.store
    with store.transaction():
        plan = compile_query(store, query, zone)
        total = count(store, plan)
        expected = max(0, total - offset)
        if limit is not None:
            expected = min(expected, limit)
        _audit(store, inv, query, zone_name, total, expected, sort)
    return SearchStream(
        query, zone_name, total, sort, limit, offset, plan.warnings, expected, store, plan
    )


def _audit(
    store: Store, inv: Invocation, query: str, tz: str, total: int, returned: int, sort: str
) -> None:
    details = {"query": query, "tz": tz, "total": total, "returned": returned, "sort": sort}
    auditlog.append(store, inv, details=details)


def show(
    archive: Archive, message_id: int, context: int, inv: Invocation, *, tz: str | None = None
) -> dict[str, Any]:
    """A message with ``context`` messages before and after it in its conversation, with
    times also in ``tz`` (default: the archive's zone)."""
    zone_name = tz or archive.default_tz
    zone = check_zone(zone_name)
    store = archive.store
    with store.transaction():
        row = store.execute("SELECT chat_id FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise NotFound(f"no message with id {message_id}; find ids with `archiver search`")
        chat_id = int(row[0])
        before = [
            int(r[0])
            for r in store.execute(
                "SELECT id FROM messages WHERE chat_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                (chat_id, message_id, context),
            )
        ]
        after = [
            int(r[0])
            for r in store.execute(
                "SELECT id FROM messages WHERE chat_id = ? AND id > ? ORDER BY id LIMIT ?",
                (chat_id, message_id, context),
            )
        ]
        ids = [*reversed(before), message_id, *after]
        records = [local_times(rec, zone) for rec in message_records(store, ids)]
        auditlog.append(
            store, inv, details={"id": message_id, "context": context, "shown": len(ids)}
        )
    return {
        "id": message_id,
        "chat": records[0]["chat"] if records else None,
        "tz": zone_name,
        "messages": records,
    }
