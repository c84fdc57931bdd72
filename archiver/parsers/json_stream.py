"""Streaming JSON for exports of any size: ijson for the structure, ``json.loads`` for
runs of messages, every bound of ``limits`` kept.

``SplitStream`` sits on a ``json_repair.RepairingReader``: ijson for the document's
structure, and one ``json.loads`` per run of messages (1M generated messages, quiet
machine: 1.9-2.0 s including line numbers, against 2.2-2.5 s for ``ijson.items`` building
the same dicts without them). It knows JSON, not Telegram: the caller names the arrays.

What neither library refuses by itself is refused, with a byte offset of the original
file: nesting deeper than ``MAX_NESTING`` (``json`` recurses), a key repeated within one
object (JSON readers disagree on which value counts), NaN and Infinity (not JSON),
integers beyond 64 bits and floats beyond a double, and a message larger than
``MAX_MESSAGE_BYTES``; ``json_events`` does the same for what ijson reads.
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import operator
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import ijson

from archiver.parsers.json_events import TOO_DEEP, Event, Structure
from archiver.parsers.json_repair import BLOCK, RepairingReader, StreamError
from archiver.parsers.limits import INT64_RANGE, MAX_MESSAGE_BYTES, MAX_NESTING

__all__ = ["Elements", "SplitStream", "StreamError"]

_MAX_JOINS = 16
"""Pieces joined into one element before the layout is taken as not Telegram's (each
join decodes the element again; Telegram's own layout never needs one)."""
_ONES = itertools.repeat(1)


@dataclass(frozen=True, slots=True)
class Elements:
    """A run of decoded array elements and the 1-based line where each starts."""

    values: list[Any]
    lines: list[int | None]


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
        self._structure = Structure(reader.original_offset)
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
                    TOO_DEEP,
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
            reason = TOO_DEEP
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
