"""The Spark session the transaction-level layers run on: Spark Connect when a remote is
configured (``SPARK_REMOTE=sc://host:15002``), else Spark in local mode in this process.

Local mode binds the driver, its block manager and the UI to 127.0.0.1 (the UI is off): a
refresh opens no port reachable from another machine. A Spark Connect server, by contrast,
listens on every interface unless started with ``spark.connect.grpc.binding.address``;
``start-connect-server.sh --conf spark.connect.grpc.binding.address=127.0.0.1`` keeps a
local one private (README, "Spark").

Every session reads and writes time stamps in UTC (DuckDB's TIMESTAMP has no zone, the
lake's Parquet keeps them as written) and runs with ANSI SQL, as Spark 4 does by default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class SparkOptions:
    """Where Spark runs: ``remote`` (a Spark Connect URL) wins over ``master``."""

    remote: str = ""
    master: str = "local[2]"
    driver_memory: str = "2g"
    shuffle_partitions: int = 4

    def describe(self) -> str:
        return f"Spark Connect {self.remote}" if self.remote else f"Spark {self.master}"


def spark_session(options: SparkOptions):
    """A running SparkSession (imported here: pyspark is only needed with the Spark engine)."""
    from pyspark.sql import SparkSession

    common = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(options.shuffle_partitions),
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    }
    if options.remote:
        builder = SparkSession.builder.remote(options.remote)
        session = builder.getOrCreate()
        for key, value in common.items():
            session.conf.set(key, value)
        return session
    # The driver must bind to the loopback before the JVM starts; the environment variable
    # covers what the configuration does not (py4j's gateway already listens on localhost).
    os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    builder = (
        SparkSession.builder.master(options.master)
        .appName("customer-intel")
        .config("spark.driver.bindAddress", LOOPBACK)
        .config("spark.driver.host", LOOPBACK)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", options.driver_memory)
        .config("spark.sql.adaptive.enabled", "true")
    )
    for key, value in common.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
