"""The transaction helpers: statements committed together or not at all."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.sql_text import execute_together, transaction


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


def test_statements_run_together_commit_once_or_join_the_open_transaction():
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (a INTEGER)")
    execute_together(connection, ["INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)"])
    assert connection.execute("SELECT count(*) FROM t").fetchone() == (2,)
    # A failing statement rolls back the ones before it.
    with pytest.raises(duckdb.Error):
        execute_together(connection, ["INSERT INTO t VALUES (3)", "INSERT INTO missing VALUES (4)"])
    assert connection.execute("SELECT count(*) FROM t").fetchone() == (2,)
    # Inside the caller's transaction they join it: its rollback undoes them too.
    connection.execute("BEGIN TRANSACTION")
    execute_together(connection, ["INSERT INTO t VALUES (5)"])
    assert connection.execute("SELECT count(*) FROM t").fetchone() == (3,)
    connection.execute("ROLLBACK")
    assert connection.execute("SELECT count(*) FROM t").fetchone() == (2,)
