"""Put an uploaded file into DATA_DIR/landing, whole or not at all.

The landing sensor and ingestion read every data file under landing. An upload is first
written to a hidden temporary name that discovery skips (``.upload-<name>.<random>.tmp``:
a leading dot and a ``.tmp`` suffix, see pipeline.ingest.discovery), flushed to disk and
then renamed over its final name with ``os.replace``, which is atomic on one file system: a
reader sees no file, the old file or the whole new one, never half a file.

A name that would leave landing (a path, ``..``, a link out of it), that discovery would
skip (so the pipeline would never read it), or that no reader takes is refused, and so is a
file over the size limit, with a message that says what to do.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from pipeline.ingest.discovery import is_ignored_name
from pipeline.ingest.readers import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES

UPLOAD_SUFFIXES = tuple(sorted(CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES))
MAX_NAME_LENGTH = 200


class UploadRefused(ValueError):
    """The upload cannot go into landing; the message says why and what to do."""


def landing_name(filename: str) -> str:
    """The name an upload gets in landing: ``filename`` itself, once checked. Refused: an
    empty name, a path (``/``, ``\\``, ``..``), a name the landing discovery skips, and a
    type no reader takes."""
    name = (filename or "").strip()
    if not name:
        raise UploadRefused("the file has no name")
    if "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise UploadRefused(
            f"{name!r} is a path, not a file name: upload the file itself, it goes into the "
            "landing folder"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise UploadRefused(f"the file name is longer than {MAX_NAME_LENGTH} characters")
    if is_ignored_name(name):
        raise UploadRefused(
            f"{name}: the pipeline skips files named like this (hidden, temporary, lock or "
            "system files, names starting with '_' or '~'); rename the file"
        )
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadRefused(
            f"{name}: {suffix or 'no extension'} is not a file type the pipeline reads; "
            f"upload one of {', '.join(UPLOAD_SUFFIXES)}"
        )
    return name


def check_size(name: str, size_bytes: int, max_bytes: int) -> None:
    """Refuse an empty file or one over ``max_bytes``."""
    if size_bytes <= 0:
        raise UploadRefused(f"{name} is empty")
    if size_bytes > max_bytes:
        raise UploadRefused(
            f"{name} is {_megabytes(size_bytes)}, over the upload limit of "
            f"{_megabytes(max_bytes)} (UPLOAD_MAX_MB); copy a file this large into "
            "DATA_DIR/landing directly"
        )


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / 1024**2:,.1f} MB"


def landing_target(landing_dir: Path, name: str) -> Path:
    """``landing_dir/name`` for a checked name, refused when it would not stay inside
    landing (a link at that name pointing elsewhere, for instance)."""
    name = landing_name(name)
    root = landing_dir.resolve()
    target = root / name
    if target.is_symlink() or not target.resolve().is_relative_to(root):
        raise UploadRefused(f"{name}: landing/{name} is a link; it would not stay in landing")
    if target.exists() and not target.is_file():
        raise UploadRefused(f"{name}: landing/{name} is a folder; rename the file")
    return target


def temporary_name(name: str) -> str:
    """The hidden name an upload is written under before its rename (skipped by discovery)."""
    return f".upload-{name}.{uuid.uuid4().hex[:12]}.tmp"


def place_in_landing(content: bytes, landing_dir: Path, name: str, max_bytes: int) -> Path:
    """Write ``content`` to ``landing_dir/name`` atomically (see the module docstring);
    returns the final path. An existing file of that name is replaced."""
    target = landing_target(landing_dir, name)
    check_size(target.name, len(content), max_bytes)
    root = target.parent
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / temporary_name(target.name)
    try:
        with temporary.open("xb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_folder(root)
    return target


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
