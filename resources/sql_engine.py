"""The engine of the transaction-level layers (cleaning, customer features): DuckDB, the
default, or Spark (Spark Connect with ``SPARK_REMOTE``, else local mode), configured by
``SQL_ENGINE`` and shown on the UI's Resources tab. Every other layer runs on DuckDB."""

from __future__ import annotations

import os
from functools import cache

from dagster import ConfigurableResource
from pydantic import Field

from pipeline.settings import Settings
from pipeline.spark.lake import Lake
from pipeline.spark.session import SparkOptions, spark_session
from resources.warehouse import _configured

ENGINES = ("duckdb", "spark")


def known_engine(value: str) -> str:
    """``value`` as an engine name, or an error naming the setting and the choices."""
    engine = value.strip().lower()
    if engine not in ENGINES:
        raise ValueError(f"SQL_ENGINE must be one of {', '.join(ENGINES)}, got {value!r}")
    return engine


@cache
def _session(options: SparkOptions):
    """One session per process: a Dagster step is a process, and a JVM takes ~20 s to start."""
    return spark_session(options)


class SqlEngine(ConfigurableResource):
    """Where the transaction-level SQL runs, and where the Spark engine keeps its tables."""

    engine: str = Field(default="duckdb", description="duckdb (default) or spark.")
    spark_remote: str = Field(
        default="", description="Spark Connect URL (sc://host:15002); empty: local mode."
    )
    spark_master: str = Field(default="local[2]", description="Master of local mode.")
    spark_driver_memory: str = Field(default="2g", description="Driver memory in local mode.")
    lake_root: str = Field(
        default="",
        description="Root of the Spark engine's Parquet tables (a folder, s3:// or hdfs://); "
        "empty: DATA_DIR/lake.",
    )

    @property
    def uses_spark(self) -> bool:
        return known_engine(self.engine) == "spark"

    @property
    def options(self) -> SparkOptions:
        return SparkOptions(
            remote=self.spark_remote,
            master=self.spark_master,
            driver_memory=self.spark_driver_memory,
        )

    def describe(self) -> str:
        """What the UI shows in each asset's metadata: ``duckdb`` or ``Spark local[2]``."""
        return self.options.describe() if self.uses_spark else "duckdb"

    def spark(self):
        return _session(self.options)

    def lake(self) -> Lake:
        return Lake.under(Settings.from_env().data_dir, self.lake_root)


def sql_engine_from_env() -> SqlEngine:
    """The resource as SQL_ENGINE, SPARK_REMOTE, SPARK_MASTER, SPARK_DRIVER_MEMORY and
    LAKE_ROOT configure it (each an EnvVar in the UI when set). An unknown engine fails the
    code location's load, naming the variable."""
    known_engine(os.environ.get("SQL_ENGINE") or "duckdb")
    return SqlEngine(
        engine=_configured("SQL_ENGINE", "duckdb"),
        spark_remote=_configured("SPARK_REMOTE", ""),
        spark_master=_configured("SPARK_MASTER", "local[2]"),
        spark_driver_memory=_configured("SPARK_DRIVER_MEMORY", "2g"),
        lake_root=_configured("LAKE_ROOT", ""),
    )
