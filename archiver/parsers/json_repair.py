"""A streaming byte-level repair pass for Telegram Desktop's almost-JSON.

Telegram Desktop writes two things no JSON parser accepts:

* ``\\xHH`` escapes for control characters (every version): rewritten to ``\\u00HH``,
  but only where the backslash itself is not escaped (an odd run of backslashes);
* a bare, unquoted custom-emoji ``"document_id": stickers/sticker (2).webm`` (v4.1.0 and
  v4.1.1): the token up to the end of the line is quoted.

``RepairingReader`` wraps a binary file and is read like one, so a streaming parser can sit
on top of it. Every repair is recorded with its byte offset in the ORIGINAL file, and
``original_offset`` maps an offset of the repaired stream back, for error messages.

``json_stream.SplitStream`` is the streaming parser that sits on it.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import BinaryIO, Literal

from archiver.parsers.limits import MAX_MESSAGE_BYTES

MAX_LOGGED_REPAIRS = 1000
"""Repairs listed one by one in ParseFacts; beyond that they are only counted."""
MAX_REPAIRS = 100_000
"""Repairs in one file (each keeps an offset mark); Telegram writes a few per export."""
BLOCK = 64 << 10
"""Read size. Buffers of this size stay below glibc's mmap threshold (128 KiB); with
1 MiB reads every buffer was a fresh mmap and its page faults made the parse of 1M
messages 1.2 s slower (measured: 64 KiB 2.0 s, 1 MiB 3.2 s for the stream alone)."""

_HEX = frozenset(b"0123456789abcdefABCDEF")
_DOC_KEY = b'"document_id": '
_X_ESCAPE = re.compile(rb"\\x")  # re's search beats bytes.find for this needle
_JSON_LITERAL = re.compile(rb"(?:null|true|false|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*,?\s*")


ErrorKind = Literal["syntax", "truncated", "refused"]


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
        if len(self._marks_at) >= MAX_REPAIRS:
            raise StreamError(
                offset, f"more than {MAX_REPAIRS:,} escapes or tokens to repair", "refused"
            )
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
                if not self._eof and keep_from - d <= MAX_MESSAGE_BYTES:
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
