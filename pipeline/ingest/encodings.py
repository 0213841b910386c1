"""The text encoding of a delimited file, and its transcoding to UTF-8 for DuckDB.

Detection, in order: a byte-order mark (UTF-32 LE/BE, UTF-8, UTF-16 LE/BE); NUL bytes in
every other position of the first block (UTF-16 without a BOM: Excel's "Unicode text");
valid UTF-8; else Windows-1252 when bytes 0x80-0x9F appear and each is a character there
(euro sign, curly quotes: Excel's default in Western Europe), else ISO-8859-1. Other NUL
bytes mean binary content, not text. A file that is not UTF-8 is decoded strictly and
written as UTF-8 before DuckDB reads it, so line numbers stay those of the original.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

_CHUNK = 8 * 1024 * 1024
_SAMPLE = 4096
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# The bytes 0x80-0x9F that Windows-1252 leaves undefined.
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_C1 = re.compile(rb"[\x80-\x9f]")
UTF8 = ("utf-8", "utf-8-sig")


class BinaryContent(ValueError):
    """NUL bytes that are not UTF-16 text."""


def bom_encoding(head: bytes) -> str | None:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def nul_pattern_encoding(sample: bytes) -> str | None:
    """UTF-16 without a BOM: mostly-ASCII text has a NUL in every high byte. None when the
    sample has no NUL (or a stray one); BinaryContent when more than 1% of it are NULs
    that follow no UTF-16 pattern."""
    if b"\x00" not in sample:
        return None
    pairs = len(sample) // 2
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    if pairs and odd_nuls >= 0.6 * pairs and even_nuls <= 0.1 * pairs:
        return "utf-16-le"
    if pairs and even_nuls >= 0.6 * pairs and odd_nuls <= 0.1 * pairs:
        return "utf-16-be"
    if sample.count(0) > len(sample) // 100:
        raise BinaryContent("it holds NUL bytes: binary data, not text")
    return None


# Control characters that text does not hold (all but tab, line feed, VT, FF, CR, ESC).
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


def check_text(sample: bytes) -> None:
    """BinaryContent when more than 5% of the sample are control characters."""
    if len(_CONTROL.findall(sample)) > len(sample) // 20:
        raise BinaryContent("it holds NUL and control bytes: binary data, not text")


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            # An ASCII chunk is valid UTF-8 unless a sequence begun in the chunk before is
            # pending (then decode it and fail); the test is cheaper than decoding.
            if not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _single_byte_encoding(path: Path) -> str:
    has_c1 = False
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if _CP1252_UNDEFINED.search(chunk):
                return "latin-1"
            has_c1 = has_c1 or bool(_C1.search(chunk))
    return "cp1252" if has_c1 else "latin-1"


def detect_encoding(path: Path) -> str:
    """The codec of ``path`` (see the module docstring); raises BinaryContent."""
    with path.open("rb") as handle:
        sample = handle.read(_SAMPLE)
    by_bom = bom_encoding(sample)
    if by_bom:
        return by_bom
    by_nuls = nul_pattern_encoding(sample)
    if by_nuls:
        return by_nuls
    check_text(sample)
    if _is_utf8(path):
        return "utf-8"
    return _single_byte_encoding(path)


def transcode_to_utf8(source: Path, encoding: str, target: Path) -> None:
    """Write ``source``, decoded strictly from ``encoding`` (a BOM dropped), as UTF-8.
    Raises UnicodeDecodeError with the byte offset of the first undecodable byte."""
    codec = {"utf-16": "utf-16", "utf-32": "utf-32"}.get(encoding, encoding)
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    offset = 0
    first = True
    with source.open("rb") as reader, target.open("w", encoding="utf-8", newline="") as writer:
        while chunk := reader.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as error:
                error.start += offset
                raise
            if first:
                text = text.removeprefix("\ufeff")
                first = False
            writer.write(text)
            offset += len(chunk)
        writer.write(decoder.decode(b"", final=True))
