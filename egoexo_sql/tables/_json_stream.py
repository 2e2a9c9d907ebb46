"""Read the members of one object of a large JSON file without loading the file.

``iter_members(path, "annotations")`` yields ``(key, raw JSON bytes)`` for every member
of the top-level object's ``"annotations"`` object, reading the file in chunks: memory
is one chunk plus the largest member, not the file (a relations file holds every take
of a split).

The structure around the members is walked here; each value's extent is found by
msgspec (decoding it as :class:`msgspec.Raw` skips it in C and reports where the
value ends). Anything unexpected (malformed JSON, a wrong shape, a msgspec whose
messages differ) raises :class:`StreamError`; callers then decode the whole file the
ordinary way, which produces the precise InputError (file, JSON path, line, column).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

CHUNK = 8 << 20
_WS = b" \t\r\n"
_TRAILING = re.compile(r"trailing characters \(byte (\d+)\)")


class StreamError(Exception):
    """The file is not the expected object (or not valid JSON) at ``offset``."""

    def __init__(self, offset: int, what: str):
        super().__init__(f"byte {offset}: {what}")
        self.offset = offset


class _Reader:
    def __init__(self, f: BinaryIO, chunk: int):
        self.f = f
        self.chunk = chunk
        self.buf = b""
        self.base = 0  # file offset of buf[0]
        self.pos = 0  # index into buf
        self.eof = False

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def fill(self, at_least: int = 1) -> bool:
        """Make at least ``at_least`` more bytes available past pos; False at EOF."""
        if self.pos > len(self.buf) // 2 or self.pos > self.chunk:
            self.base += self.pos
            self.buf = self.buf[self.pos :]
            self.pos = 0
        got = False
        while len(self.buf) - self.pos < at_least and not self.eof:
            data = self.f.read(max(self.chunk, at_least))
            if not data:
                self.eof = True
                break
            self.buf += data
            got = True
        return got or len(self.buf) - self.pos >= at_least

    def skip_ws(self) -> None:
        while True:
            buf, n = self.buf, len(self.buf)
            i = self.pos
            while i < n and buf[i] in _WS:
                i += 1
            self.pos = i
            if i < n or not self.fill():
                return

    def peek(self) -> bytes:
        self.skip_ws()
        return self.buf[self.pos : self.pos + 1]

    def expect(self, ch: bytes) -> None:
        if self.peek() != ch:
            raise StreamError(self.offset, f"expected {ch.decode()!r}")
        self.pos += 1

    def value(self) -> memoryview:
        """The next JSON value's bytes (validated to be one complete value)."""
        self.skip_ws()
        need = self.chunk
        while True:
            self.fill(min(need, self.chunk))
            view = memoryview(self.buf)[self.pos :]
            try:
                msgspec.json.decode(view, type=msgspec.Raw)
            except msgspec.DecodeError as e:
                msg = str(e)
                m = _TRAILING.search(msg)
                if m:
                    end = int(m.group(1)) - 1  # msgspec counts the trailing character
                    if 0 < end <= len(view) and bytes(view[end : end + 1]) in (b",", b"}", b"]", b":"):
                        out = view[:end]
                        self.pos += end
                        return out
                    raise StreamError(self.offset, f"unexpected msgspec message {msg!r}") from None
                if "truncated" in msg and not self.eof:
                    need = len(view) * 2
                    self.fill(need)
                    continue
                raise StreamError(self.offset, msg) from None
            # the value runs to the end of what is buffered: a number may go on
            if self.eof:
                out = view
                self.pos += len(view)
                return out
            self.fill(len(view) + self.chunk)

    def key(self) -> str:
        raw = self.value()
        try:
            k = msgspec.json.decode(raw, type=str)
        except msgspec.DecodeError:
            raise StreamError(self.offset, "expected an object key (a string)") from None
        self.expect(b":")
        return k


def iter_members(path: str | Path, member: str, chunk: int = CHUNK) -> Iterator[tuple[str, bytes]]:
    """``(key, value bytes)`` of each member of ``top[member]`` (a JSON object), in file order.

    Raises StreamError when the file is not an object, ``member`` is not an object, or
    the JSON is malformed. A file without ``member`` yields nothing.
    """
    with open(path, "rb") as f:
        r = _Reader(f, chunk)
        r.fill(3)
        if r.buf.startswith(b"\xef\xbb\xbf"):
            r.pos = 3
        r.expect(b"{")
        if r.peek() == b"}":
            r.pos += 1
        else:
            while True:
                k = r.key()
                if k == member:
                    r.expect(b"{")
                    if r.peek() == b"}":
                        r.pos += 1
                    else:
                        while True:
                            k2 = r.key()
                            yield k2, bytes(r.value())
                            if r.peek() == b",":
                                r.pos += 1
                                continue
                            r.expect(b"}")
                            break
                else:
                    r.value()
                if r.peek() == b",":
                    r.pos += 1
                    continue
                r.expect(b"}")
                break
        if r.peek() != b"":
            raise StreamError(r.offset, "trailing characters after the top-level object")
