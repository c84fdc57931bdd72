"""How the bytes of a WhatsApp chat file become lines of text: its encoding, bounded lines.

WhatsApp writes UTF-8 (iOS with a byte order mark). A file that went through a PC may
arrive as UTF-16 or as Windows-1252/Latin-1. ``sniff_encoding`` decides from the head
of the file:

1. a byte order mark: UTF-8, UTF-16 LE or UTF-16 BE;
2. no mark, and the head is UTF-8 (a character cut at its end aside): UTF-8;
3. no mark, a NUL in every other byte, and the head read as UTF-16 starts like a chat:
   UTF-16 LE or BE;
4. not UTF-8, and the head read as Windows-1252 (every byte of it defined there) starts
   like a chat: Windows-1252 (Latin-1's printable characters are the same);
5. anything else is not a chat text (binary data, or an encoding we do not guess).

``ChatBytes`` turns the file into UTF-8 whatever its encoding. Bytes that still do not
decode are read as U+FFFD and counted, so the ingest can say how many and where: they
are never dropped silently. It also refuses a line longer than ``MAX_MESSAGE_BYTES``
before the line is held in memory (WhatsApp caps a message at 65,536 characters).
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, TextIO, cast

from archiver.core.errors import ParseError
from archiver.parsers.limits import MAX_MESSAGE_BYTES
from archiver.parsers.whatsapp_header import GENERAL

READ = 64 << 10
"""Bytes read from the file at a time, and decoded at a time by the text reader (64 KiB:
lines came out 20% slower from 256 KiB chunks, measured)."""
_LINES_TO_SNIFF = 64


@dataclass(frozen=True)
class Encoding:
    """How a chat file is decoded: Python's codec, the name reported, and why."""

    codec: str
    name: str
    evidence: str
    bom: bool = False


UTF8 = Encoding("utf-8-sig", "utf-8", "valid UTF-8")


def starts_like_chat(text: str) -> bool:
    """Whether one of the first lines of ``text`` is a WhatsApp message header."""
    return any(GENERAL.match(line) for line in text.lstrip("\ufeff").splitlines()[:_LINES_TO_SNIFF])


def sniff_encoding(head: bytes) -> Encoding | str:
    """The encoding of a chat file from its first bytes, or why it is not text."""
    if head.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8-sig", "utf-8", "byte order mark", bom=True)
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return Encoding("utf-16", name, "byte order mark", bom=True)
    bad = _utf8_error(head)
    if bad is None and b"\0" not in head:
        return UTF8
    for name, zeros in (("utf-16-le", head[1::2]), ("utf-16-be", head[0::2])):
        if zeros.count(0) * 2 > len(zeros) and starts_like_chat(head.decode(name, "replace")):
            return Encoding(name, name, "no byte order mark; NUL bytes and message headers")
    if bad is not None:
        try:
            text = head.decode("cp1252")
        except UnicodeDecodeError:
            text = ""
        if b"\0" not in head and starts_like_chat(text):
            return Encoding(
                "cp1252", "windows-1252", f"not UTF-8 (byte 0x{head[bad]:02x} at offset {bad})"
            )
        return (
            f"byte 0x{head[bad]:02x} at offset {bad} is not UTF-8, and read as UTF-16 or "
            "Windows-1252 the file does not start like a chat (binary data?)"
        )
    return f"it holds NUL bytes (byte offset {head.index(0)}): binary data, not text"


def _utf8_error(head: bytes) -> int | None:
    """Offset of the first byte that is not UTF-8 (a sequence cut at the end is fine)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        return exc.start
    return None


# --- reading ---------------------------------------------------------------------------------


class ChatBytes(io.BufferedIOBase):
    """The chat file as UTF-8 bytes, whatever its encoding, with bounded lines.

    UTF-8 input passes through unchanged: with ``count`` each read block is checked (in
    C), and a byte sequence that is not UTF-8 is counted and left for the text decoder,
    which reads it as U+FFFD. Other encodings are transcoded (their byte order mark
    dropped), an undecodable sequence becoming U+FFFD here; ``replaced`` counts them all
    and ``first_bad`` is the file offset of the first. A line longer than
    MAX_MESSAGE_BYTES (LF or CR ends one) is refused as soon as a read reaches beyond it.

    A read returns the rest of the current block (up to ``size``): read in blocks of
    ``READ`` bytes, nothing is copied on the way (``text_reader`` asks for whole blocks)."""

    def __init__(
        self,
        opener: Callable[[], BinaryIO],
        encoding: Encoding,
        where: str,
        bounded: bool = True,
        count: bool = True,
    ) -> None:
        self._opener = opener
        self._bounded = bounded
        self._inner = opener()
        self._encoding = encoding
        self._where = where
        self._codec = {"utf-8-sig": "utf-8", "utf-16": encoding.name}.get(
            encoding.codec, encoding.codec
        )
        self._decoder = codecs.getincrementaldecoder(self._codec)()
        self._passthrough = self._codec == "utf-8"
        self._check = count or not self._passthrough  # decode at all
        self._skip = len(codecs.BOM_UTF16) if encoding.codec == "utf-16" else 0
        self._in = 0  # offset in the file of the next byte read
        self._out = b""  # output not handed out yet, from self._at on
        self._at = 0
        self._written = 0  # bytes of output produced
        self._line_start = 0  # output offset where the current line began
        self.replaced = 0
        self.first_bad: int | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._at >= len(self._out):
            self._next_block()
        if size is None or size < 0:
            size = len(self._out)
        if self._at == 0 and size >= len(self._out):
            self._at = len(self._out)
            return self._out
        piece = self._out[self._at : self._at + size]
        self._at += len(piece)
        return piece

    read1 = read

    def _next_block(self) -> None:
        while True:
            data = self._inner.read(READ)
            if self._skip:
                data, self._skip = data[self._skip :], 0
                self._in += len(codecs.BOM_UTF16)
            out = self._convert(data, final=not data)
            self._in += len(data)
            if self._bounded:
                self._check_lines(out)
            self._out, self._at = out, 0
            if out or not data:
                return

    def _convert(self, data: bytes, final: bool) -> bytes:
        if not self._check:
            return data
        original = data
        parts: list[str] = []
        start = self._in
        while True:
            try:
                text = self._decoder.decode(data, final)
                break
            except UnicodeDecodeError as exc:  # rare: recover by hand, counting
                held = len(exc.object) - len(data)  # bytes the decoder kept from last time
                if self.first_bad is None:
                    self.first_bad = start - held + exc.start
                self.replaced += 1
                if not self._passthrough:
                    parts.append(exc.object[: exc.start].decode(self._codec) + "\ufffd")
                self._decoder = codecs.getincrementaldecoder(self._codec)()
                start += exc.end - held
                data = exc.object[exc.end :]
        if self._passthrough:
            return original
        parts.append(text)
        return "".join(parts).encode("utf-8")

    def _check_lines(self, out: bytes) -> None:
        last = max(out.rfind(b"\n"), out.rfind(b"\r"))
        if last >= 0:  # the line open before this block ends at its first line end
            ends = [i for i in (out.find(b"\n"), out.find(b"\r")) if i >= 0]
            if self._written + min(ends) - self._line_start > MAX_MESSAGE_BYTES:
                raise self._too_long()
            self._line_start = self._written + last + 1  # (lines within one block are short)
        elif self._written + len(out) - self._line_start > MAX_MESSAGE_BYTES:
            raise self._too_long()
        self._written += len(out)

    def _too_long(self) -> ParseError:
        def again() -> ChatBytes:
            return ChatBytes(self._opener, self._encoding, self._where, bounded=False)

        line = 1 + line_ends_before(again, self._line_start)
        return ParseError(
            f"{self._where}: line {line} is longer than {MAX_MESSAGE_BYTES:,} bytes; WhatsApp "
            "caps a message at 65,536 characters, so this is not a chat export as WhatsApp "
            "writes it. Nothing from it was ingested."
        )

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()


def text_reader(stream: ChatBytes, newline: str | None) -> TextIO:
    """The stream as text lines (a byte that does not decode reads as U+FFFD)."""
    buffered = cast(BinaryIO, stream)  # (a BufferedIOBase, which typeshed does not accept)
    reader = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="replace", newline=newline)
    setattr(reader, "_CHUNK_SIZE", READ)  # noqa: B010 (whole blocks: no copy between the two)
    return reader


def line_ends_before(opener: Callable[[], BinaryIO | io.BufferedIOBase], end: int) -> int:
    """Line ends (LF, CR LF or a lone CR) in the first ``end`` bytes of a stream."""
    count, at, carry_cr = 0, 0, False
    with opener() as fh:
        while at < end and (chunk := fh.read(min(READ, end - at))):
            count += _line_ends(chunk) - (carry_cr and chunk[:1] == b"\n")
            carry_cr = chunk[-1:] == b"\r"
            at += len(chunk)
    return count


def _line_ends(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
