"""Read the published BI snapshot, one read-only connection per published file.

The refresh publishes DATA_DIR/bi/customer_intel.duckdb by renaming a new file over the old
one (pipeline.publish). A *generation* is one published file, told apart by (inode, mtime,
size). The reader checks that triple (one ``stat``) at most every ``check_seconds`` (0.25 s
by default: a ``stat`` costs more than the lookup it guards, and a request a quarter of a
second after a publish may still get the previous snapshot, as it may anyway while the new
file loads) and, when it changed, opens the new file in a background thread while requests
go on being answered from the previous generation; the new one takes over once it is open
and loaded. A generation that was replaced is closed when its last request has finished, so
no request in flight fails.

Each generation is its own in-memory DuckDB database with the file attached read-only:
DuckDB shares one database instance between connections to the same path in a process, so
connecting by path again would hand back the old file's instance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.sql_text import quote_literal

ALIAS = "snapshot"
CHECK_SECONDS = 0.25


class SnapshotMissing(LookupError):
    """No snapshot has been published yet."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(
            f"no BI snapshot at {path} yet: run `customer-intel demo` or `customer-intel "
            "refresh` (or materialize bi/customer_intel in the Dagster UI) to publish one"
        )


def file_version(path: Path) -> tuple[int, int, int] | None:
    """(inode, mtime ns, size) of the published file; None when there is none."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


@dataclass
class Generation:
    """One published snapshot file, open read-only, with what was loaded from it."""

    path: Path
    version: tuple[int, int, int]
    connection: duckdb.DuckDBPyConnection
    loaded: dict = field(default_factory=dict)  # whatever the loader put here
    _users: int = 0
    _retired: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, path: Path, version: tuple[int, int, int]) -> Generation:
        connection = duckdb.connect(":memory:")
        connection.execute(f"ATTACH {quote_literal(str(path))} AS {ALIAS} (READ_ONLY)")
        return cls(path, version, connection)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own for one request's queries (DuckDB connections are not
        shared between threads), reading the snapshot by default."""
        cursor = self.connection.cursor()
        cursor.execute(f"USE {ALIAS}")
        return cursor

    def _enter(self) -> None:
        with self._lock:
            self._users += 1

    def _leave(self) -> None:
        with self._lock:
            self._users -= 1
            close = self._retired and self._users == 0
        if close:
            self.connection.close()

    def _retire(self) -> None:
        with self._lock:
            self._retired = True
            close = self._users == 0
        if close:
            self.connection.close()


Loader = Callable[[Generation], None]


class SnapshotReader:
    """The current generation of the snapshot at ``path``; ``loader`` fills a new
    generation's ``loaded`` before it serves requests."""

    def __init__(
        self, path: Path, loader: Loader | None = None, check_seconds: float = CHECK_SECONDS
    ):
        self.path = path
        self.loader = loader or (lambda generation: None)
        self.check_seconds = check_seconds
        self._next_check = 0.0  # time.monotonic() of the next stat of the published file
        self._current: Generation | None = None
        self._lock = threading.Lock()
        self._opening: tuple[int, int, int] | None = None
        self.last_error: Exception | None = None

    def _open(self, version: tuple[int, int, int]) -> Generation:
        generation = Generation.open(self.path, version)
        try:
            self.loader(generation)
        except BaseException:
            generation.connection.close()
            raise
        return generation

    def _install(self, generation: Generation) -> None:
        with self._lock:
            previous, self._current = self._current, generation
            self._opening = None
        if previous is not None:
            previous._retire()

    def _open_in_background(self, version: tuple[int, int, int]) -> None:
        try:
            self._install(self._open(version))
            self.last_error = None
        except Exception as error:  # a half-written or foreign file: keep serving the old one
            self.last_error = error
            with self._lock:
                self._opening = None

    def _current_generation(self) -> Generation:
        now = time.monotonic()
        current = self._current
        if current is not None and now < self._next_check:
            return current
        version = file_version(self.path)
        with self._lock:
            self._next_check = now + self.check_seconds
            current = self._current
            if current is not None and (version is None or version == current.version):
                return current
            if current is not None:
                if self._opening != version:
                    self._opening = version
                    threading.Thread(
                        target=self._open_in_background, args=(version,), daemon=True
                    ).start()
                return current
        if version is None:
            raise SnapshotMissing(self.path)
        generation = self._open(version)  # nothing to serve yet: open it now
        self._install(generation)
        return generation

    @contextmanager
    def generation(self) -> Iterator[Generation]:
        """The current generation, kept open until the block ends."""
        while True:
            generation = self._current_generation()
            generation._enter()
            if not generation._retired:
                break
            generation._leave()  # replaced between the lookup and now: take the new one
        try:
            yield generation
        finally:
            generation._leave()

    def close(self) -> None:
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            current._retire()
