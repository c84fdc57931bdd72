"""ijson's events for the structure of a JSON document (everything the fast path in
``json_stream`` does not split off), with ijson's prefixes and every bound of ``limits``.

Built on ijson's ``basic_parse`` (events without prefixes) with the path kept here and
spelled out only ``_PREFIX_DEPTH`` deep: ijson's own prefixes are one string per event
as long as the path, so memory grew with the square of the depth (23 GB for 200 KB of
nested arrays). Nesting deeper than ``MAX_NESTING``, a key repeated in one object and a
value longer than ``MAX_MESSAGE_BYTES`` are refused as the events arrive. ijson is fed
one read block at a time, so no send produces more than a block's worth of events, and
its C backend only ever runs with ``use_float=True``: without it a number of more than
4,300 digits crashes the whole process (ijson 3.6, yajl2_c); with it, integers beyond 64
bits and floats beyond a double are errors, reported as such.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import Any

import ijson

from archiver.parsers.json_repair import BLOCK, ErrorKind, StreamError
from archiver.parsers.limits import MAX_MESSAGE_BYTES, MAX_NESTING

MAX_REPLAY = 8 << 20
"""Bytes of document structure kept to locate a syntax error exactly."""
_PREFIX_DEPTH = 8
"""Prefixes are spelled out this deep (the caller looks at most 5 levels down)."""
_DEEP = "\0deep"  # the prefix of anything deeper: matches no name
TOO_DEEP = f"arrays and objects nested more than {MAX_NESTING} deep"

Event = tuple[str, str, Any]
"""An ijson event: (prefix, event name, value)."""


class Structure:
    """The events of one document, fed in pieces (see the module's docs)."""

    def __init__(self, orig: Callable[[int], int]) -> None:
        self._orig = orig
        self._raw: list[tuple[str, Any]] = ijson.sendable_list()
        self._coro = ijson.basic_parse_coro(self._raw, use_float=True)
        self._path: list[Any] = []
        self._keys: list[set[str]] = []  # the keys seen in each open object (or array)
        self._fed = bytearray()  # what ijson was fed, to locate errors (bounded)
        self._fed_map: list[tuple[int, int]] = []
        self._replayable = True
        self._quiet = 0  # bytes fed since ijson last completed a value
        self.fed_total = 0

    @property
    def depth(self) -> int:
        """Arrays and objects open at the current position."""
        return len(self._path)

    def feed(self, data: bytes, at: int) -> Iterator[Event]:
        """Send data (starting at repaired offset ``at``) to ijson; yield its events."""
        for i in range(0, len(data), BLOCK):
            piece = data[i : i + BLOCK]
            if len(self._fed) + len(piece) <= MAX_REPLAY:
                self._fed_map.append((len(self._fed), at + i))
                self._fed += piece
            else:
                self._replayable = False
            try:
                self._coro.send(piece)
            except ijson.JSONError as exc:
                raise self._locate(exc, at + i + len(piece)) from None
            self.fed_total += len(piece)
            yield from self._events(len(piece), at + i + len(piece))

    def close(self, at: int) -> Iterator[Event]:
        """The last events; an error here means the document stopped early."""
        try:
            self._coro.close()
        except ijson.JSONError:
            raise StreamError(self._orig(at), "the document ends early", "truncated") from None
        yield from self._events(0, at)

    def _events(self, fed: int, end: int) -> Iterator[Event]:
        raw = self._raw
        if not raw:
            self._quiet += fed
            if self._quiet > MAX_MESSAGE_BYTES:
                raise self._refuse(
                    f"a JSON string, number or run of spaces longer than {MAX_MESSAGE_BYTES:,} "
                    "bytes",
                    end,
                )
            return
        self._quiet = 0
        path, keys = self._path, self._keys
        for event, value in raw:
            if event == "map_key":
                seen = keys[-1]
                if value in seen:
                    raise self._refuse(f"the key {value!r} appears twice in one object", end)
                seen.add(value)
                path[-1] = value
                yield _prefix(path, len(path) - 1), event, value
            elif event == "start_map" or event == "start_array":
                if len(path) >= MAX_NESTING:
                    raise self._refuse(TOO_DEEP, end)
                yield _prefix(path, len(path)), event, None
                path.append(None if event == "start_map" else "item")
                keys.append(set())
            elif event == "end_map" or event == "end_array":
                path.pop()
                keys.pop()
                yield _prefix(path, len(path)), event, None
            else:
                yield _prefix(path, len(path)), event, value
        del raw[:]

    def _refuse(self, reason: str, end: int) -> StreamError:
        return StreamError(self._orig(end), reason, "refused", exact=False)

    def _locate(self, exc: Exception, fallback: int) -> StreamError:
        """Find the first bad byte by replaying what ijson was fed (bisection)."""
        reason, kind = _reason(exc)
        if not self._replayable or not self._fed:
            return StreamError(self._orig(fallback), reason, kind, exact=False)
        lo, hi = 0, len(self._fed)  # a prefix of length lo parses, of length hi fails
        if _prefix_parses(self._fed, hi):
            return StreamError(self._orig(fallback), "the document ends early", "truncated")
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _prefix_parses(self._fed, mid):
                lo = mid
            else:
                hi = mid
        i = bisect.bisect_right([s for s, _ in self._fed_map], lo) - 1
        start, at = self._fed_map[max(i, 0)]
        if self._fed[lo : lo + 9].lstrip(b"-").startswith((b"NaN", b"Infinity")):
            reason, kind = "NaN or Infinity, which are not JSON numbers", "refused"
        return StreamError(self._orig(at + lo - start), reason, kind)


def _prefix(path: list[Any], n: int) -> str:
    return ".".join(path[:n]) if n <= _PREFIX_DEPTH else _DEEP


def _reason(exc: Exception) -> tuple[str, ErrorKind]:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "integer overflow" in text:
        return "an integer that does not fit in 64 bits", "refused"
    if "floating point) overflow" in text:
        return "a number too large for a 64-bit float", "refused"
    return f"invalid JSON ({text})", "syntax"


def _prefix_parses(data: bytes | bytearray, n: int) -> bool:
    """Whether data[:n] is a valid beginning of a JSON document (events are dropped as
    they come, so a replay needs no more memory than the stream did)."""
    events: list[Any] = ijson.sendable_list()
    coro = ijson.basic_parse_coro(events, use_float=True)
    try:
        for i in range(0, n, BLOCK):
            coro.send(bytes(data[i : min(i + BLOCK, n)]))
            del events[:]
    except ijson.JSONError:
        return False
    return True
