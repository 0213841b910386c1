"""Which landing files are new or changed since the last look (no Dagster import).

A file's signature is its size and modification time; the content hash in the ledger
decides at ingest time whether anything really changed, so a touched but identical file
costs one run that loads nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline.ingestion import discover_files


def file_signatures(landing_dir: Path) -> dict[str, str]:
    signatures = {}
    for path in discover_files(landing_dir):
        stat = path.stat()
        signatures[path.relative_to(landing_dir).as_posix()] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return signatures


def changed_files(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    return sorted(name for name, signature in current.items() if previous.get(name) != signature)


def batch_key(current: dict[str, str], changed: list[str]) -> str:
    """The same set of file versions always gives the same key, so a re-evaluated tick
    cannot launch a second run for it."""
    payload = json.dumps({name: current[name] for name in changed}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
