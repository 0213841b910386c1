"""The transaction helper: the block's statements are committed together or not at all."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.sql_text import transaction


def test_a_transaction_commits_its_block_and_rolls_it_back_on_any_error():
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (x INTEGER)")
    with transaction(connection):
        connection.execute("INSERT INTO t VALUES (1)")
        connection.execute("INSERT INTO t VALUES (2)")
    with pytest.raises(KeyboardInterrupt), transaction(connection):
        connection.execute("INSERT INTO t VALUES (3)")
        raise KeyboardInterrupt  # Ctrl-C in the middle: nothing of the block stays
    with pytest.raises(duckdb.Error), transaction(connection):
        connection.execute("INSERT INTO t VALUES (4)")
        connection.execute("INSERT INTO missing VALUES (5)")
    assert connection.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]
    # The connection is usable afterwards: no transaction was left open.
    with transaction(connection):
        connection.execute("INSERT INTO t VALUES (6)")
    assert connection.execute("SELECT count(*) FROM t").fetchone() == (3,)
