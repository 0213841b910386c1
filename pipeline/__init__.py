"""The domain core: plain Python and SQL, no Dagster import."""

import warnings

# Great Expectations imports PySpark whenever it is installed (it is, for the Spark engine),
# and PySpark 4.3 then warns that pandas 3 is not fully supported, on every command's
# console. The Spark engine's tests compare what PySpark converts; the warning says nothing
# to a user of the DuckDB engine.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
