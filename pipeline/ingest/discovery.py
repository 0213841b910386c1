"""Which files in a landing folder are data, and which are new or changed since the last
look (the landing sensor's signatures). No Dagster import.

One rule decides for every folder what is not data, so ingestion, the landing sensor and
live scoring skip the same files: hidden files and folders (``.DS_Store``, ``.Trashes``,
``.Spotlight-V100``, ``._*`` AppleDouble files, ``.~lock.*#``), names starting with ``_``
or ``~`` (``~$`` Office lock files), the metadata Windows, macOS and sync clients write
(``Thumbs.db``, ``ehthumbs.db``, ``desktop.ini``, ``Icon\\r``, ``*.dropbox``, ...),
partial downloads and writes before their rename (``*.tmp``, ``*.part``, ``*.crdownload``,
...) and notes (``*.md``). A file's signature is its size and modification time; the content
hash in the ledger decides at ingest time whether anything really changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from pathlib import Path

# File and folder names (case-insensitive) that operating systems and sync clients write.
SYSTEM_NAMES = frozenset(
    {
        "thumbs.db",
        "ehthumbs.db",
        "ehthumbs_vista.db",
        "desktop.ini",
        "icon\r",
        "$recycle.bin",
        "system volume information",
        "@eadir",  # Synology thumbnails
        "lost+found",
    }
)
# Name prefixes: hidden files (also AppleDouble ``._x``, ``.~lock.x#``, ``.sync``,
# ``.dropbox``, ``.Trashes``), Office lock files ``~$x``, editor backups ``~x``, and ``_``.
IGNORED_PREFIXES = (".", "~", "_")
# Suffixes (case-insensitive) of partial downloads, unfinished writes, backups and notes.
IGNORED_SUFFIXES = frozenset(
    {
        ".tmp",
        ".temp",
        ".part",
        ".partial",
        ".crdownload",
        ".download",
        ".opdownload",
        ".!ut",
        ".dropbox",
        ".dropbox.attr",
        ".sync",
        ".bak",
        ".swp",
        ".lnk",
        ".md",
    }
)


def is_ignored_name(name: str) -> bool:
    """A file or folder name that is never data (see the module docstring)."""
    folded = name.casefold()
    return (
        folded in SYSTEM_NAMES
        or name.startswith(IGNORED_PREFIXES)
        or name.endswith(("~", "#"))
        or any(folded.endswith(suffix) for suffix in IGNORED_SUFFIXES)
    )


def discover_files(
    folder: Path,
    *,
    recursive: bool = True,
    skip_folders: Collection[str] = ("new_customers",),
    suffixes: Collection[str] | None = None,
) -> list[Path]:
    """Data files under ``folder``, by name: every file (``recursive``: in subfolders too,
    except the top-level ``skip_folders``), leaving out what :func:`is_ignored_name` calls
    not data; with ``suffixes``, only names ending in one of them (case-insensitive)."""
    if not folder.exists():
        return []
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    files = []
    for path in sorted(candidates):
        relative = path.relative_to(folder)
        if relative.parts[0] in skip_folders or any(map(is_ignored_name, relative.parts)):
            continue
        if suffixes is not None and path.suffix.lower() not in suffixes:
            continue
        if path.is_file():
            files.append(path)
    return files


def file_signatures(folder: Path) -> dict[str, str]:
    signatures = {}
    for path in discover_files(folder):
        stat = path.stat()
        signatures[path.relative_to(folder).as_posix()] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return signatures


def changed_files(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    return sorted(name for name, signature in current.items() if previous.get(name) != signature)


def batch_key(current: dict[str, str], changed: list[str]) -> str:
    """The same set of file versions always gives the same key, so a re-evaluated tick
    cannot launch a second run for it."""
    payload = json.dumps({name: current[name] for name in changed}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
