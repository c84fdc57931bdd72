"""A streaming byte-level repair pass for Telegram Desktop's almost-JSON.

Telegram Desktop writes two things no JSON parser accepts (telegram.md §4):

* ``\\xHH`` escapes for control characters (every version): rewritten to ``\\u00HH``,
  but only where the backslash itself is not escaped (an odd run of backslashes);
* a bare, unquoted custom-emoji ``"document_id": stickers/sticker (2).webm`` (v4.1.0 and
  v4.1.1): the token up to the end of the line is quoted.

``RepairingReader`` wraps a binary file and is read like one, so a streaming parser can sit
on top of it. Every repair is recorded with its byte offset in the ORIGINAL file, and
``original_offset`` maps an offset of the repaired stream back, for error messages.

``SplitStream`` is the streaming parser that sits on it: ijson for the document's
structure, and one ``json.loads`` per run of messages (1M generated messages, quiet
machine: 1.9-2.0 s including line numbers, against 2.2-2.5 s for ``ijson.items`` building
the same dicts without them). It knows JSON, not Telegram: the caller names the arrays.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson

MAX_LOGGED_REPAIRS = 1000
"""Repairs listed one by one in ParseFacts; beyond that they are only counted."""
BLOCK = 64 << 10
"""Read size. Buffers of this size stay below glibc's mmap threshold (128 KiB); with
1 MiB reads every buffer was a fresh mmap and its page faults made the parse of 1M
messages 1.2 s slower (measured: 64 KiB 2.0 s, 1 MiB 3.2 s for the stream alone)."""
MAX_ELEMENT = 8 << 20
"""An array element larger than this means the indentation split does not apply."""
MAX_REPLAY = 8 << 20
"""Bytes of document structure kept to locate a syntax error exactly."""

_HEX = frozenset(b"0123456789abcdefABCDEF")
_DOC_KEY = b'"document_id": '
_X_ESCAPE = re.compile(rb"\\x")  # re's search beats bytes.find for this needle
_JSON_LITERAL = re.compile(rb"(?:null|true|false|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*,?\s*")


@dataclass(frozen=True, slots=True)
class Repair:
    """One change made to the input: where (original byte offset), what, and into what."""

    offset: int
    kind: str
    before: str
    after: str

    def as_fact(self) -> dict[str, object]:
        return {
            "offset": self.offset,
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
        }


class RepairingReader:
    """File-like (``read`` only) view of ``raw`` with the exporter's defects repaired.

    Chunks are scanned with ``bytes.find``, so a file without defects costs two
    substring searches per chunk. Escapes and bare tokens split across chunk boundaries
    are handled by holding back the unfinished tail until more input arrives.
    """

    def __init__(self, raw: BinaryIO, chunk_size: int = BLOCK) -> None:
        self._raw = raw
        self._chunk = chunk_size
        self._pending = b""  # raw bytes read but not scanned yet (an unfinished tail)
        self._pending_at = 0  # original offset of _pending[0]
        self._out: list[bytes] = []  # repaired bytes not handed out yet
        self._out_len = 0
        self._out_total = 0  # repaired-stream offset of the end of _out
        self._eof = False
        self._backslashes = 0  # length of the backslash run ending what was emitted
        self.repairs: list[Repair] = []
        self.counts: dict[str, int] = {}
        # after each repair: (repaired offset where the shift starts, total growth)
        self._marks_at: list[int] = []
        self._marks_delta: list[int] = []
        self._delta = 0

    # -- file-like ----------------------------------------------------------------

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` repaired bytes (fewer before the end is allowed); b"" at EOF."""
        if size is None or size < 0:
            while not self._eof:
                self._fill()
            size = self._out_len
        while not self._out_len and not self._eof:
            self._fill()
        if len(self._out) == 1 and self._out_len <= size:
            data = self._out.pop()
        else:
            joined = b"".join(self._out)
            data, rest = joined[:size], joined[size:]
            self._out = [rest] if rest else []
        self._out_len -= len(data)
        return data

    # -- bookkeeping --------------------------------------------------------------

    def original_offset(self, repaired_offset: int) -> int:
        """The byte offset in the original file of a byte of the repaired stream."""
        i = bisect.bisect_right(self._marks_at, repaired_offset) - 1
        return repaired_offset - (self._marks_delta[i] if i >= 0 else 0)

    def facts(self) -> dict[str, object]:
        return {
            "repair_counts": dict(self.counts),
            "repairs": [r.as_fact() for r in self.repairs],
        }

    def _record(self, offset: int, kind: str, before: bytes, after: bytes) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if len(self.repairs) < MAX_LOGGED_REPAIRS:
            self.repairs.append(
                Repair(offset, kind, before.decode("utf-8", "replace"), after.decode("utf-8"))
            )
        self._delta += len(after) - len(before)
        self._marks_at.append(self._out_total + len(before))
        self._marks_delta.append(self._delta)
        self._out.append(after)
        self._out_len += len(after)
        self._out_total += len(after)
        self._backslashes = 0

    def _emit(self, segment: bytes) -> None:
        if not segment:
            return
        self._out.append(segment)
        self._out_len += len(segment)
        self._out_total += len(segment)
        run = len(segment) - len(segment.rstrip(b"\\"))
        self._backslashes = self._backslashes + run if run == len(segment) else run

    # -- the scan -----------------------------------------------------------------

    def _fill(self) -> None:
        chunk = self._raw.read(self._chunk)
        if not chunk:
            self._eof = True
        buf = self._pending + chunk if self._pending else chunk
        base = self._pending_at
        n = len(buf)
        pos = 0  # buf[:pos] has been emitted
        keep_from = n if self._eof else _holdback(buf)
        if _X_ESCAPE.search(buf) or _DOC_KEY in buf:
            pos, keep_from = self._scan(buf, base, keep_from)
        self._emit(buf[pos:keep_from])
        self._pending = buf[keep_from:]
        self._pending_at = base + keep_from

    def _scan(self, buf: bytes, base: int, keep_from: int) -> tuple[int, int]:
        """Repair defects in buf[:keep_from]; return (emitted up to, hold back from)."""
        pos = 0
        while True:
            found = _X_ESCAPE.search(buf, pos, keep_from)
            x = found.start() if found else -1
            d = buf.find(_DOC_KEY, pos, keep_from)
            if x < 0 and d < 0:
                return pos, keep_from
            if x >= 0 and (d < 0 or x < d):
                self._emit(buf[pos:x])
                if self._backslashes % 2 == 0 and _is_hex2(buf, x + 2, keep_from):
                    fixed = b"\\u00" + buf[x + 2 : x + 4]
                    self._record(base + x, "x-escape", buf[x : x + 4], fixed)
                    pos = x + 4
                else:  # an escaped backslash followed by a literal x, or not \xHH at all
                    self._emit(buf[x : x + 1])
                    pos = x + 1
                continue
            start = d + len(_DOC_KEY)
            nl = buf.find(b"\n", start, keep_from)
            if nl < 0:
                if not self._eof:
                    return pos, d  # the bare token may continue in the next read
                nl = keep_from
            self._emit(buf[pos:start])
            token = buf[start:nl].rstrip(b"\r")
            pos = start
            if token[:1] == b'"' or _JSON_LITERAL.fullmatch(token):
                continue  # valid JSON: emitted as it is with what follows
            pos = start + len(token)
            comma = token.endswith(b",")
            value = token[:-1].rstrip() if comma else token.rstrip()
            after = json.dumps(value.decode("utf-8", "replace"), ensure_ascii=False).encode()
            self._record(base + start, "bare-document-id", token, after + (b"," if comma else b""))


def _is_hex2(buf: bytes, i: int, end: int) -> bool:
    return i + 2 <= end and buf[i] in _HEX and buf[i + 1] in _HEX


def _holdback(buf: bytes) -> int:
    """Where an escape or key that the next read may complete starts (len(buf) if none)."""
    n = len(buf)
    start = n
    b = buf.rfind(b"\\", max(0, n - 3))
    if b >= 0:
        # hold back the whole backslash run: its parity decides what follows
        while b > 0 and buf[b - 1] == 0x5C and n - b < 64:
            b -= 1
        start = b
    for k in range(min(len(_DOC_KEY) - 1, n), 0, -1):
        if _DOC_KEY.startswith(buf[n - k :]):
            start = min(start, n - k)
            break
    return start


# ---------------------------------------------------------------------------------------
# Streaming: structure through ijson, big arrays split by indentation
# ---------------------------------------------------------------------------------------

Event = tuple[str, str, Any]
"""An ijson event: (prefix, event name, value)."""


@dataclass(frozen=True, slots=True)
class Elements:
    """A run of decoded array elements and the 1-based line where each starts."""

    values: list[Any]
    lines: list[int | None]


class StreamError(Exception):
    """Invalid JSON at a byte offset of the original file."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"{reason} at byte {offset}")
        self.offset = offset
        self.reason = reason


_SPLIT_KEY = re.compile(rb'"messages"[ \t\r\n]{0,16}:[ \t\r\n]{0,16}\[')
_WS = b" \t\r\n"


class SplitStream:
    """Yields ijson events for a document, except inside the arrays named by ``split``.

    The elements of those arrays (``<prefix>.messages`` for a prefix in ``split``) arrive
    as decoded ``Elements`` batches instead, between the array's ``start_array`` and ``end_array``
    events. Telegram Desktop pretty-prints with fixed indentation, so an element that
    opens with ``{`` on a line indented by I ends at the next line ``I + "}"`` (raw
    newlines cannot occur inside JSON strings): whole runs of elements are decoded with
    one ``json.loads``, which is what makes this fast. A run that does not decode is
    retried element by element (an element that only looked complete is joined with the
    next piece). An array that is not laid out that way (minified files; hand-edited
    indentation, from the point where it breaks) is left to ijson, whose events are then
    assembled into elements here.
    """

    def __init__(self, reader: RepairingReader, split: frozenset[str], block: int = BLOCK):
        self._reader = reader
        self._split = split
        self._block = block
        self._events: list[Event] = ijson.sendable_list()
        self._coro = ijson.parse_coro(self._events, use_float=True)
        self._buf = b""
        self._at = 0  # repaired offset of _buf[0]
        self._lines = 1  # line number of _buf[0]
        self._eof = False
        self._fed = bytearray()  # what ijson was fed, to locate errors (bounded)
        self._fed_map: list[tuple[int, int]] = []
        self._replayable = True
        self._openers: dict[bytes, re.Pattern[bytes]] = {}
        self.split_arrays = 0
        self.event_arrays = 0
        self.decode_repairs: list[int] = []

    def __iter__(self) -> Iterator[Event | Elements]:
        building: str | None = None  # prefix of elements assembled from ijson events
        builder: ijson.ObjectBuilder | None = None
        depth = 0
        for item in self._raw_items():
            if building is None or isinstance(item, Elements):
                if isinstance(item, Elements) or not _is_fallback_start(item):
                    yield item
                    continue
                building = item[0] + ".item"
                self.event_arrays += 1
                continue
            prefix, event, value = item
            if builder is None:
                if prefix == building[: -len(".item")] and event == "end_array":
                    building = None
                    yield item
                    continue
                builder, depth = ijson.ObjectBuilder(), 0
            builder.event(event, value)
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
            if depth == 0:
                yield Elements([builder.value], [None])
                builder = None

    # -- feeding ijson -------------------------------------------------------------

    def _feed(self, data: bytes, at: int) -> list[Event]:
        """Send data (starting at repaired offset ``at``) to ijson; return its events."""
        if data:
            if len(self._fed) + len(data) <= MAX_REPLAY:
                self._fed_map.append((len(self._fed), at))
                self._fed += data
            else:
                self._replayable = False
            try:
                self._coro.send(data)
            except ijson.JSONError as exc:
                raise self._locate(exc, at) from None
        events = list(self._events)
        del self._events[:]
        return events

    def _close(self) -> list[Event]:
        try:
            self._coro.close()
        except ijson.JSONError as exc:
            raise self._locate(exc, self._at + len(self._buf)) from None
        events = list(self._events)
        del self._events[:]
        return events

    def _locate(self, exc: Exception, fallback: int) -> StreamError:
        """Find the first bad byte by replaying what ijson was fed (bisection)."""
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not self._replayable or not self._fed:
            return StreamError(self._orig(fallback), f"invalid JSON ({reason})")
        lo, hi = 0, len(self._fed)  # a prefix of length lo parses, of length hi fails
        if _prefix_parses(self._fed, hi):
            return StreamError(self._orig(self._at + len(self._buf)), "unexpected end of file")
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _prefix_parses(self._fed, mid):
                lo = mid
            else:
                hi = mid
        i = bisect.bisect_right([s for s, _ in self._fed_map], lo) - 1
        start, at = self._fed_map[max(i, 0)]
        return StreamError(self._orig(at + lo - start), f"invalid JSON ({reason})")

    def _more(self, keep_from: int) -> bool:
        """Drop _buf[:keep_from], read another block; False at end of input."""
        if keep_from:
            self._lines += self._buf.count(b"\n", 0, keep_from)
            self._at += keep_from
            self._buf = self._buf[keep_from:]
        if self._eof:
            return False
        data = self._reader.read(self._block)
        if not data:
            self._eof = True
            return False
        self._buf = self._buf + data if self._buf else data
        return True

    def _orig(self, repaired: int) -> int:
        return self._reader.original_offset(repaired)

    def _raw_items(self) -> Iterator[Event | Elements]:
        pos = 0
        self._more(0)
        if self._buf.startswith(b"\xef\xbb\xbf"):
            pos = 3
        while True:
            m = _SPLIT_KEY.search(self._buf, pos)
            if m is None:
                if self._eof:
                    yield from self._feed(self._buf[pos:], self._at + pos)
                    yield from self._close()
                    return
                cut = max(pos, len(self._buf) - 64)
                yield from self._feed(self._buf[pos:cut], self._at + pos)
                self._more(cut)
                pos = 0
                continue
            events = self._feed(self._buf[pos : m.end()], self._at + pos)
            yield from events
            pos = m.end()
            last = events[-1] if events else None
            if last is None or last[1] != "start_array" or not self._wanted(last[0]):
                continue
            if self._layout_ok(pos):
                self.split_arrays += 1
                pos, fallback = yield from self._split_array(pos)
                if not fallback:
                    continue
            yield last[0], "fallback_array", None

    def _wanted(self, prefix: str) -> bool:
        if prefix == "messages":
            return "" in self._split
        return prefix.endswith(".messages") and prefix[: -len(".messages")] in self._split

    def _layout_ok(self, pos: int) -> bool:
        """Whether the array at _buf[pos:] is empty or opens with an indented '{'."""
        while True:
            j = pos
            while j < len(self._buf) and self._buf[j] in _WS:
                j += 1
            if j < len(self._buf) or self._eof:
                break
            self._buf += self._reader.read(self._block) or b""
            if len(self._buf) == j:
                self._eof = True
        if j >= len(self._buf) or self._buf[j] == 0x5D:  # ']' (or EOF: ijson reports it)
            return True
        nl = self._buf.rfind(b"\n", pos, j)
        return self._buf[j] == 0x7B and nl >= 0 and not self._buf[nl + 1 : j].strip(b" \t")

    # -- the fast path -------------------------------------------------------------

    def _split_array(self, pos: int) -> Generator[Elements, None, tuple[int, bool]]:
        """Yield the elements of the array starting at _buf[pos:].

        Returns ``(index, False)`` with the index in _buf of the closing ']' (the buffer
        may have moved), or ``(index, True)`` when the layout is not what the fast path
        expects: the elements from _buf[index:] on are then left to ijson.
        """
        indent: bytes | None = None
        sep = b""
        while True:
            j = _skip_ws(self._buf, pos)
            if j == len(self._buf):
                if not self._more(pos):
                    return 0, True  # ijson reports the truncation
                pos = 0
                continue
            c = self._buf[j]
            if c == 0x5D:  # ']'
                return j, False
            if indent is not None and c == 0x2C:  # ','
                pos = j + 1
                continue
            if c != 0x7B:  # '{'
                return j, True
            if indent is None:
                nl = self._buf.rfind(b"\n", 0, j)
                indent = self._buf[nl + 1 : j]
                sep = b"\n" + indent + b"}"
            end = self._buf.rfind(sep, j)
            if end < 0 or (end == j and not self._eof):
                if len(self._buf) - j > MAX_ELEMENT or not self._more(j):
                    return (j if len(self._buf) - j > MAX_ELEMENT else 0), True
                pos = 0
                continue
            end += len(sep)
            consumed = yield from self._decode_run(j, end, sep)
            if consumed < 0:  # pieces would not join into an element
                return -consumed - 1, True
            if consumed == j:  # the first element needs more input
                if len(self._buf) - j > MAX_ELEMENT or not self._more(j):
                    return (j if len(self._buf) - j > MAX_ELEMENT else 0), True
                pos = 0
                continue
            pos = consumed

    def _decode_run(self, start: int, end: int, sep: bytes) -> Generator[Elements, None, int]:
        """Decode the elements in _buf[start:end]; return where decoding stopped."""
        chunk = self._buf[start:end]
        text = self._text(chunk, start)
        was = gc.isenabled()
        gc.disable()
        try:
            values = json.loads("[" + text + "]")
        except ValueError:
            values = None
        finally:
            if was:
                gc.enable()
        if values is None:
            return (yield from self._decode_pieces(start, end, sep))
        line = self._lines + self._buf.count(b"\n", 0, start)
        yield Elements(values, self._element_lines(chunk, sep, line, len(values)))
        return end

    def _element_lines(self, chunk: bytes, sep: bytes, line: int, n: int) -> list[int | None]:
        """The line of each element's '{' in chunk, whose first element is on ``line``
        (C-level maps: a Python loop here cost 0.75 s per million messages)."""
        opener = self._openers.get(sep)
        if opener is None:
            opener = self._openers[sep] = re.compile(re.escape(b"\n" + sep[1:-1] + b"{"))
        starts = [0]  # just after each element's '{' (same line)
        starts += map(re.Match.end, opener.finditer(chunk))
        if len(starts) != n:
            return [None] * n
        counts = map(chunk.count, itertools.repeat(b"\n"), starts, starts[1:])
        return list(itertools.accumulate(counts, initial=line))

    def _decode_pieces(self, start: int, end: int, sep: bytes) -> Generator[Elements, None, int]:
        """Slow path: element by element, joining pieces an inner line split early."""
        piece_start = start
        cut = start
        while True:
            nxt = self._buf.find(sep, cut, end)
            if nxt < 0:
                return piece_start
            cut = nxt + len(sep)
            raw = self._buf[piece_start:cut]
            text = self._text(raw, piece_start)
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                if exc.pos >= len(text.rstrip()):
                    if cut - piece_start > MAX_ELEMENT:
                        return -piece_start - 1  # not this layout after all
                    continue  # looked complete but is not: join the next piece
                bad = piece_start + len(text[: exc.pos].encode("utf-8"))
                raise StreamError(self._orig(self._at + bad), f"invalid JSON ({exc.msg})") from None
            line = self._lines + self._buf.count(b"\n", 0, piece_start)
            yield Elements([value], [line])
            j = _skip_ws(self._buf, cut)
            if j < len(self._buf) and self._buf[j] == 0x5D:  # ']': the array ended
                return j
            if j < len(self._buf) and self._buf[j] == 0x2C:
                j = _skip_ws(self._buf, j + 1)
            piece_start = cut = j

    def _text(self, raw: bytes, start: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.decode_repairs.append(self._orig(self._at + start + exc.start))
            return raw.decode("utf-8", "replace")


def _prefix_parses(data: bytes | bytearray, n: int) -> bool:
    """Whether data[:n] is a valid beginning of a JSON document."""
    events: list[Event] = ijson.sendable_list()
    coro = ijson.parse_coro(events)
    try:
        coro.send(bytes(data[:n]))
    except ijson.JSONError:
        return False
    return True


def _skip_ws(buf: bytes, i: int) -> int:
    n = len(buf)
    while i < n and buf[i] in _WS:
        i += 1
    return i


def _is_fallback_start(item: Event) -> bool:
    return item[1] == "fallback_array"
