"""Compressed exports: a gzip-compressed text file (``.csv.gz``, ``.tsv.gz``, ``.txt.gz``)
is decompressed into the work folder and read as the file it holds; each member of a
``.zip`` archive is extracted there and read as a file of its own, its rows named
``archive.zip!member`` in their lineage. Members that are not data (see discovery.py, e.g.
``__MACOSX/`` and ``.DS_Store``) and folders are skipped. Nothing is extracted under a
member's own path, so a member named ``../x`` cannot write outside the work folder."""

from __future__ import annotations

import gzip
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from pipeline.ingest.discovery import is_ignored_name
from pipeline.ingest.staging import FileRejected, first_line

_ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)


def inner_name(name: str) -> str:
    """The name of the file a ``.gz`` file holds: ``orders.csv.gz`` -> ``orders.csv``."""
    return name[: -len(".gz")] if name.lower().endswith(".gz") else name


def gunzip(path: Path, display_name: str, workdir: Path, suffix: str) -> Path:
    """Decompress ``path`` into ``workdir``; a corrupt or truncated stream rejects it."""
    target = Path(tempfile.mkstemp(suffix=suffix, dir=workdir)[1])
    try:
        with gzip.open(path, "rb") as source, target.open("wb") as sink:
            shutil.copyfileobj(source, sink, 8 * 1024 * 1024)
    except (OSError, EOFError, zlib.error) as error:
        raise FileRejected(display_name, f"cannot be read as gzip: {first_line(error)}") from error
    return target


def data_members(path: Path, display_name: str) -> list[str]:
    """The member names of a zip archive that hold data, in archive order."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except _ARCHIVE_ERRORS as error:
        raise FileRejected(display_name, f"cannot be read as ZIP: {first_line(error)}") from error
    members = [
        name
        for name in names
        if not any(is_ignored_name(part) for part in PurePosixPath(name).parts)
    ]
    if not members:
        raise FileRejected(display_name, "the archive holds no data file")
    return members


def extracted_members(path: Path, display_name: str, workdir: Path) -> Iterator[tuple[str, Path]]:
    """(member name, extracted copy) for each data member, one at a time (each copy is
    deleted once the next one is asked for)."""
    for member in data_members(path, display_name):
        target = Path(tempfile.mkstemp(suffix=PurePosixPath(member).suffix, dir=workdir)[1])
        try:
            with zipfile.ZipFile(path) as archive, archive.open(member) as source:
                with target.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 8 * 1024 * 1024)
        except _ARCHIVE_ERRORS as error:
            raise FileRejected(
                f"{display_name}!{member}", f"cannot be extracted: {first_line(error)}"
            ) from error
        yield member, target
        target.unlink(missing_ok=True)
