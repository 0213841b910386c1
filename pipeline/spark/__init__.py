"""The Spark engine of the transaction-level layers: the DuckDB SQL transpiled
(:mod:`.dialect`), the session (:mod:`.session`), Parquet tables in the lake (:mod:`.lake`)
and the cleaning and feature layers run on it (:mod:`.layers`). pyspark is imported only
when a session is opened."""
