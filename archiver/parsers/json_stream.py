"""Streaming JSON for exports of any size: ijson for the structure, ``json.loads`` for
runs of messages, every bound of ``limits`` kept.

``SplitStream`` sits on a ``json_repair.RepairingReader``: ijson for the document's
structure, and one ``json.loads`` per run of messages (1M generated messages, quiet
machine: 1.9-2.0 s including line numbers, against 2.2-2.5 s for ``ijson.items`` building
the same dicts without them). It knows JSON, not Telegram: the caller names the arrays.

What neither library refuses by itself is refused here, with a byte offset of the
original file: nesting deeper than ``MAX_NESTING`` (ijson's own prefixes grow with the
depth, so memory grew with its square; ``json`` recurses), a key repeated within one
object (JSON readers disagree on which value counts), NaN and Infinity (not JSON),
integers beyond 64 bits and floats beyond a double, and a message or a single value
larger than ``MAX_MESSAGE_BYTES``. ijson's C backend only ever runs with
``use_float=True``: without it a number of more than 4,300 digits crashes the whole
process (ijson 3.6, yajl2_c).
"""

from __future__ import annotations

import bisect
import gc
import itertools
import json
import math
import operator
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import ijson

from archiver.parsers.json_repair import BLOCK, RepairingReader
from archiver.parsers.limits import INT64_RANGE, MAX_MESSAGE_BYTES, MAX_NESTING

MAX_REPLAY = 8 << 20
"""Bytes of document structure kept to locate a syntax error exactly."""
_PREFIX_DEPTH = 8
"""Prefixes are spelled out this deep (the caller looks at most 5 levels down)."""
_DEEP = "\0deep"  # the prefix of anything deeper: matches no name
_MAX_JOINS = 16
"""Pieces joined into one element before the layout is taken as not Telegram's (each
join decodes the element again; Telegram's own layout never needs one)."""

_TOO_DEEP = f"arrays and objects nested more than {MAX_NESTING} deep"
_ONES = itertools.repeat(1)

Event = tuple[str, str, Any]
"""An ijson event: (prefix, event name, value)."""
ErrorKind = Literal["syntax", "truncated", "refused"]


@dataclass(frozen=True, slots=True)
class Elements:
    """A run of decoded array elements and the 1-based line where each starts."""

    values: list[Any]
    lines: list[int | None]


class StreamError(Exception):
    """Invalid or refused JSON at a byte offset of the original file.

    ``kind``: ``syntax`` (not JSON), ``truncated`` (the document stops early) or
    ``refused`` (valid JSON beyond a bound, or ambiguous). ``exact`` is False when the
    offset is only where the problem was noticed (at most one read block after it)."""

    def __init__(
        self,
        offset: int,
        reason: str,
        kind: ErrorKind = "syntax",
        line: int | None = None,
        exact: bool = True,
    ) -> None:
        super().__init__(f"{reason} at byte {offset}")
        self.offset = offset
        self.reason = reason
        self.kind = kind
        self.line = line
        self.exact = exact


class _Refused(ValueError):
    """What a ``json.loads`` hook refuses (raised through the decoder)."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        keys = [k for k, _ in pairs]
        twice = next(k for i, k in enumerate(keys) if k in keys[:i])
        raise _Refused(f"the key {twice!r} appears twice in one object")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused(f"the number {_shown(text)} is too large for a 64-bit float")
    return value


def _int(text: str) -> int:
    if len(text) < 19:
        return int(text)
    value = int(text)  # ValueError past 4,300 digits: reported as a long number
    if value not in INT64_RANGE:
        raise _Refused(f"the integer {_shown(text)} does not fit in 64 bits")
    return value


def _shown(number: str) -> str:
    return number if len(number) <= 40 else f"{number[:40]}… ({len(number):,} characters)"


_DECODE = json.JSONDecoder(
    object_pairs_hook=_object, parse_float=_float, parse_int=_int, parse_constant=_constant
).decode


class _Structure:
    """ijson's events for everything outside the split arrays, with ijson's prefixes.

    Built on ijson's ``basic_parse`` (events without prefixes) and the path kept here,
    spelled out only ``_PREFIX_DEPTH`` deep: ijson's own prefixes are one string per
    event as long as the path. Nesting, repeated keys and overlong values are refused
    as the events arrive; ijson is fed one read block at a time, so no send can produce
    more than a block's worth of events."""

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
                    raise self._refuse(_TOO_DEEP, end)
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
        self._structure = _Structure(reader.original_offset)
        self._buf = b""
        self._at = 0  # repaired offset of _buf[0]
        self._lines = 1  # line number of _buf[0]
        self._eof = False
        self._openers: dict[bytes, re.Pattern[bytes]] = {}
        self.split_arrays = 0
        self.event_arrays = 0
        self.decode_repairs: list[int] = []

    def __iter__(self) -> Iterator[Event | Elements]:
        building: str | None = None  # prefix of elements assembled from ijson events
        builder: ijson.ObjectBuilder | None = None
        depth = started = 0
        structure = self._structure
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
                builder, depth, started = ijson.ObjectBuilder(), 0, structure.fed_total
            elif structure.fed_total - started > MAX_MESSAGE_BYTES + BLOCK:
                raise StreamError(
                    self._orig(self._at),
                    f"a message longer than {MAX_MESSAGE_BYTES:,} bytes",
                    "refused",
                    exact=False,
                )
            builder.event(event, value)
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
            if depth == 0:
                yield Elements([builder.value], [None])
                builder = None

    # -- feeding ijson -------------------------------------------------------------

    def _feed(self, data: bytes, at: int) -> Iterator[Event]:
        return self._structure.feed(data, at)

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
                    yield from self._structure.close(self._at + len(self._buf))
                    return
                cut = max(pos, len(self._buf) - 64)
                yield from self._feed(self._buf[pos:cut], self._at + pos)
                self._more(cut)
                pos = 0
                continue
            last = None
            for last in self._feed(self._buf[pos : m.end()], self._at + pos):
                yield last
            pos = m.end()
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
            j = _skip_ws(self._buf, pos)
            if j < len(self._buf) or self._eof:
                break
            if j - pos > MAX_MESSAGE_BYTES:
                return False  # (ijson refuses so much space)
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
        expects: the elements from _buf[index:] on are then left to ijson (which refuses
        an element larger than a message may be).
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
                if len(self._buf) - j > MAX_MESSAGE_BYTES or not self._more(j):
                    return (j if len(self._buf) - j > MAX_MESSAGE_BYTES else 0), True
                pos = 0
                continue
            end += len(sep)
            consumed = yield from self._decode_run(j, end, sep)
            if consumed < 0:  # pieces would not join into an element
                return -consumed - 1, True
            if consumed == j:  # the first element needs more input
                if len(self._buf) - j > MAX_MESSAGE_BYTES or not self._more(j):
                    return (j if len(self._buf) - j > MAX_MESSAGE_BYTES else 0), True
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
            values = _DECODE("[" + text + "]")
        except (ValueError, RecursionError):
            values = None
        finally:
            if was:
                gc.enable()
        if values is None:
            return (yield from self._decode_pieces(start, end, sep))
        starts = self._element_starts(chunk, sep, len(values))
        line = self._lines + self._buf.count(b"\n", 0, start)
        self._check_depth(values, chunk, starts, start, line)
        if starts is None:
            lines: list[int | None] = [None] * len(values)
        else:
            counts = map(chunk.count, itertools.repeat(b"\n"), starts, starts[1:])
            lines = list(itertools.accumulate(counts, initial=line))
        yield Elements(values, lines)
        return end

    def _element_starts(self, chunk: bytes, sep: bytes, n: int) -> list[int] | None:
        """Where each element of chunk (whose first element starts it) starts its line,
        or None if the layout does not say (C-level maps: a Python loop here cost 0.75 s
        per million messages)."""
        opener = self._openers.get(sep)
        if opener is None:
            opener = self._openers[sep] = re.compile(re.escape(b"\n" + sep[1:-1] + b"{"))
        starts = [0]
        starts += map(operator.add, map(re.Match.start, opener.finditer(chunk)), _ONES)
        return starts if len(starts) == n else None

    def _check_depth(
        self, values: list[Any], chunk: bytes, starts: list[int] | None, start: int, line: int
    ) -> None:
        """Refuse an element nested deeper than allowed. An element cannot be deeper than
        the brackets it contains, which are counted in C; only an element with more
        brackets than the depth left (a long formatted text, say) is walked."""
        room = MAX_NESTING - self._structure.depth
        if starts is None:
            suspects: list[int] = list(range(len(values)))
        else:
            ends = [*starts[1:], len(chunk)]
            brackets = list(
                map(
                    operator.add,
                    map(chunk.count, itertools.repeat(b"["), starts, ends),
                    map(chunk.count, itertools.repeat(b"{"), starts, ends),
                )
            )
            if max(brackets) <= room:
                return
            suspects = [i for i, n in enumerate(brackets) if n > room]
        for i in suspects:
            if _deeper_than(values[i], room):
                at = start + (starts[i] if starts is not None else 0)
                raise StreamError(
                    self._orig(self._at + at),
                    _TOO_DEEP,
                    "refused",
                    line=None if starts is None else line + chunk.count(b"\n", 0, starts[i]),
                )

    def _decode_pieces(self, start: int, end: int, sep: bytes) -> Generator[Elements, None, int]:
        """Slow path: element by element, joining pieces an inner line split early."""
        piece_start = start
        cut = start
        joins = 0
        while True:
            nxt = self._buf.find(sep, cut, end)
            if nxt < 0:
                return piece_start
            cut = nxt + len(sep)
            raw = self._buf[piece_start:cut]
            text = self._text(raw, piece_start)
            line = self._lines + self._buf.count(b"\n", 0, piece_start)
            try:
                value = _DECODE(text)
            except json.JSONDecodeError as exc:
                if exc.pos >= len(text.rstrip()):
                    joins += 1
                    if cut - piece_start > MAX_MESSAGE_BYTES or joins > _MAX_JOINS:
                        return -piece_start - 1  # not this layout after all
                    continue  # looked complete but is not: join the next piece
                bad = piece_start + len(text[: exc.pos].encode("utf-8"))
                raise StreamError(self._orig(self._at + bad), f"invalid JSON ({exc.msg})") from None
            except (ValueError, RecursionError) as exc:
                raise self._refused_element(exc, piece_start, line) from None
            self._check_depth([value], raw, None, piece_start, line)
            yield Elements([value], [line])
            joins = 0
            j = _skip_ws(self._buf, cut)
            if j < len(self._buf) and self._buf[j] == 0x5D:  # ']': the array ended
                return j
            if j < len(self._buf) and self._buf[j] == 0x2C:
                j = _skip_ws(self._buf, j + 1)
            piece_start = cut = j

    def _refused_element(self, exc: Exception, at: int, line: int) -> StreamError:
        if isinstance(exc, _Refused):
            reason = str(exc)
        elif isinstance(exc, RecursionError):
            reason = _TOO_DEEP
        else:  # int() past its 4,300 digits
            reason = "an integer that does not fit in 64 bits"
        where = f"in the message starting on line {line}"
        return StreamError(self._orig(self._at + at), f"{reason}, {where}", "refused", line)

    def _text(self, raw: bytes, start: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.decode_repairs.append(self._orig(self._at + start + exc.start))
            return raw.decode("utf-8", "replace")


def _deeper_than(value: Any, room: int) -> bool:
    """Whether ``value`` nests arrays/objects more than ``room`` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if type(item) is dict else item if type(item) is list else None
        if children is None:
            continue
        if level > room:
            return True
        stack.extend((child, level + 1) for child in children)
    return False


def _skip_ws(buf: bytes, i: int) -> int:
    n = len(buf)
    while i < n and buf[i] in _WS:
        i += 1
    return i


def _is_fallback_start(item: Event) -> bool:
    return item[1] == "fallback_array"
