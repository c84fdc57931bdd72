"""eDiscovery search: compile the query AST to FTS5 + SQL, count exactly, page fast.

Text terms become one FTS5 ``MATCH`` expression built from quoted strings (user text is
never passed through unparsed); field filters become SQL predicates on ``messages``;
date filters become ranges of message ids, which are ordered by time, so they are pushed
into the full-text scan as rowid bounds. Date order (newest first) is a rowid scan;
relevance (bm25) is computed only when asked.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from archiver import auditlog, identity, textindex
from archiver.archive import Archive
from archiver.auditlog import Invocation
from archiver.errors import NotFound, QueryError
from archiver.model import KINDS, PLATFORMS
from archiver.query import And, Field, Near, Node, Not, Or, Phrase, Term, parse
from archiver.records import message_records
from archiver.store import Store, check_zone
from archiver.writer import phone_digits

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


def _is_text(node: Node) -> bool:
    if isinstance(node, Term | Phrase | Near):
        return True
    if isinstance(node, And | Or):
        return all(_is_text(c) for c in node.children)
    if isinstance(node, Not):
        return _is_text(node.child)
    return False


def _fts(node: Node, query: str) -> str:
    """FTS5 expression for a purely textual node (And may contain Not children)."""
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
        if not positives:
            raise QueryError(
                "a query cannot consist only of NOT terms; add a word or a filter",
                query,
                node.children[0].column if isinstance(node.children[0], Not) else 1,
            )
        expr = "(" + " AND ".join(_fts(c, query) for c in positives) + ")"
        for neg in negatives:
            expr = f"({expr} NOT {_fts(neg, query)})"
        return expr
    if isinstance(node, Not):
        raise QueryError("NOT needs something to subtract from", query, node.column)
    raise AssertionError(node)


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


def _day_start(value: str, tz: ZoneInfo, name: str, query: str, column: int) -> int:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise QueryError(
            f"{name}: expects a date as YYYY-MM-DD (e.g. {name}:2024-01-31), not {value!r}",
            query,
            column,
        ) from None
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def _next_day_start(value: str, tz: ZoneInfo) -> int:
    day = date.fromisoformat(value) + timedelta(days=1)
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def _in_list(ids: list[int]) -> str:
    return "(" + ",".join(str(int(i)) for i in ids) + ")" if ids else "(NULL)"


def _field_sql(store: Store, f: Field, query: str) -> tuple[str, list[Any]]:
    value = f.value
    if f.name == "from":
        return f"m.sender_id IN {_in_list(_participants(store, value))}", []
    if f.name == "participant":
        ids = _in_list(_participants(store, value))
        return f"m.chat_id IN (SELECT DISTINCT chat_id FROM messages WHERE sender_id IN {ids})", []
    if f.name == "chat":
        chats = [
            int(r[0])
            for r in store.execute("SELECT id, key, title FROM chats").fetchall()
            if name_matches(value, r[2], r[1])
        ]
        return f"m.chat_id IN {_in_list(chats)}", []
    if f.name == "custodian":
        held = [
            int(r[0])
            for r in store.execute("SELECT id, name FROM custodians").fetchall()
            if name_matches(value, r[1])
        ]
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


def compile_query(store: Store, query: str, tz: ZoneInfo) -> Plan:
    root = parse(query)
    children = list(root.children) if isinstance(root, And) else [root]
    plan = Plan(terms=list(positive_terms(root)))
    texts = [c for c in children if _is_text(c)]
    positives = [c for c in texts if not isinstance(c, Not)]
    negatives = [c for c in texts if isinstance(c, Not)]
    negated = [c.child for c in negatives if isinstance(c, Not)]
    if positives:
        group = positives[0] if len(positives) == 1 and not negatives else And(tuple(texts))
        plan.fts = _fts(group, query)
    else:
        for child in negated:
            plan.where.append(
                "m.id NOT IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)"
            )
            plan.params.append(_fts(child, query))
    for child in children:
        if child in texts:
            continue
        if _is_date(child):
            _date_bounds(plan, child, tz, query)  # type: ignore[arg-type]
            continue
        sql, params = _node_sql(store, child, tz, query)
        plan.where.append(sql)
        plan.params.extend(params)
    return plan


def _date_bounds(plan: Plan, f: Field, tz: ZoneInfo, query: str) -> None:
    start = _day_start(f.value, tz, f.name, query, f.column)
    if f.name in ("after", "on"):
        lo = identity.id_base(start)
        plan.id_lo = lo if plan.id_lo is None else max(plan.id_lo, lo)
    if f.name == "before":
        hi = identity.id_base(start)
        plan.id_hi = hi if plan.id_hi is None else min(plan.id_hi, hi)
    if f.name == "on":
        hi = identity.id_base(_next_day_start(f.value, tz))
        plan.id_hi = hi if plan.id_hi is None else min(plan.id_hi, hi)


def _node_sql(store: Store, node: Node, tz: ZoneInfo, query: str) -> tuple[str, list[Any]]:
    """Any node as a SQL predicate on ``m`` (used below OR/NOT mixing text and filters)."""
    if _is_text(node) and not isinstance(node, Not):
        return "m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)", [
            _fts(node, query)
        ]
    if isinstance(node, Field):
        if _is_date(node):
            start = _day_start(node.value, tz, node.name, query, node.column)
            if node.name == "after":
                return "m.id >= ?", [identity.id_base(start)]
            if node.name == "before":
                return "m.id < ?", [identity.id_base(start)]
            return "m.id >= ? AND m.id < ?", [
                identity.id_base(start),
                identity.id_base(_next_day_start(node.value, tz)),
            ]
        return _field_sql(store, node, query)
    if isinstance(node, Not):
        sql, params = _node_sql(store, node.child, tz, query)
        return f"NOT ({sql})", params
    if isinstance(node, And | Or):
        joiner = " AND " if isinstance(node, And) else " OR "
        parts, params = [], []
        for c in node.children:
            sql, p = _node_sql(store, c, tz, query)
            parts.append(f"({sql})")
            params.extend(p)
        return joiner.join(parts), params
    raise AssertionError(node)


# --- execution ------------------------------------------------------------------------------


@dataclass
class SearchResult:
    query: str
    tz: str
    total: int
    sort: str
    limit: int
    offset: int
    ids: list[int]
    results: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "tz": self.tz, "total": self.total, "results": self.results}


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


def page(store: Store, plan: Plan, sort: str, limit: int, offset: int) -> list[int]:
    sql, params, idcol = _base_sql(plan)
    if sort == "relevance" and plan.fts is not None:
        order = "bm25(messages_fts), f.rowid DESC"
    else:
        order = f"{idcol} DESC"
    rows = store.execute(
        f"SELECT {idcol} {sql} ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset]
    )
    return [int(r[0]) for r in rows]


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


def search(
    archive: Archive,
    query: str,
    inv: Invocation,
    *,
    tz: str | None = None,
    sort: str = "date",
    limit: int = 50,
    offset: int = 0,
) -> SearchResult:
    """Run ``query``: the exact total and one page of message records (newest first)."""
    if sort not in SORTS:
        raise QueryError(f"--sort is one of {', '.join(SORTS)}")
    if limit < 0 or offset < 0:
        raise QueryError("--limit and --offset must not be negative")
    zone_name = tz or archive.default_tz
    zone = check_zone(zone_name)
    store = archive.store
    with store.transaction():
        plan = compile_query(store, query, zone)
        total = count(store, plan)
        ids = page(store, plan, sort, limit, offset) if limit else []
        records = message_records(store, ids)
        for rec in records:
            text, spans = snippet(
                rec["text"] or " ".join(a["name"] for a in rec["attachments"]), plan.terms
            )
            rec["snippet"] = text
            rec["highlights"] = spans
        auditlog.append(
            store,
            inv,
            details={
                "query": query,
                "tz": zone_name,
                "total": total,
                "returned": len(ids),
                "sort": sort,
            },
        )
    return SearchResult(query, zone_name, total, sort, limit, offset, ids, records)


def show(archive: Archive, message_id: int, context: int, inv: Invocation) -> dict[str, Any]:
    """A message with ``context`` messages before and after it in its conversation."""
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
        records = message_records(store, ids)
        auditlog.append(
            store, inv, details={"id": message_id, "context": context, "shown": len(ids)}
        )
    return {"id": message_id, "chat": records[0]["chat"] if records else None, "messages": records}
