"""The static SQL of the ingest package (see :mod:`pipeline.sql_files`)."""

from __future__ import annotations

from pipeline.sql_files import SqlFiles

SQL = SqlFiles(__package__)
read_sql = SQL.read
sql_steps = SQL.steps
run_steps = SQL.run_steps
