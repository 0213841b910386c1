"""A landing file as ingestion sees it before staging: size, modification time, whether
it is UTF-8, and the SHA-256 of its bytes."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class FileScan:
    """A file as ingestion sees it before staging: size, encoding, modification time, and
    the SHA-256 of its content once computed (:func:`content_hash`, run beside the read)."""

    size_bytes: int
    is_utf8: bool
    modified_at: dt.datetime | None = None  # the mtime (UTC) taken before reading
    content_hash: str | None = None


def file_signature(path: Path) -> tuple[int, dt.datetime]:
    """(size in bytes, modification time as naive UTC to the microsecond)."""
    stat = path.stat()
    modified = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=stat.st_mtime_ns // 1000)
    return stat.st_size, modified


def scan_file(path: Path) -> FileScan:
    """Size, modification time and whether the content decodes as UTF-8, in one pass.

    The modification time is taken before the read: a file changed while it is read then
    looks changed to the next scan too."""
    _, modified = file_signature(path)
    decoder = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            # An ASCII chunk is valid UTF-8 unless a sequence begun in the chunk before is
            # pending (then decode it and fail); the test is ~2x cheaper than decoding.
            if is_utf8 and not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
    if is_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    return FileScan(size, is_utf8, modified)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's content (hashlib releases the GIL: it can run in a thread)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
