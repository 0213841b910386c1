"""A landing file as ingestion sees it before staging: size, modification time, and the
SHA-256 of its bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class FileScan:
    """Size and modification time of a file, and the SHA-256 of its content once computed
    (:func:`content_hash`, run beside the read)."""

    size_bytes: int
    modified_at: dt.datetime | None = None  # the mtime (UTC) taken before reading
    content_hash: str | None = None


def file_signature(path: Path) -> tuple[int, dt.datetime]:
    """(size in bytes, modification time as naive UTC to the microsecond)."""
    stat = path.stat()
    modified = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=stat.st_mtime_ns // 1000)
    return stat.st_size, modified


def scan_file(path: Path) -> FileScan:
    """Size and modification time, taken before the read: a file changed while it is read
    then looks changed to the next scan too."""
    size, modified = file_signature(path)
    return FileScan(size, modified)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's content (hashlib releases the GIL: it can run in a thread)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
