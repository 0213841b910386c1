"""Great Expectations imported without pyspark.

GX 1.x imports pyspark at import time when it is installed (``great_expectations.
compatibility.pyspark``), to offer Spark data sources. The checks here give GX pandas
frames only (:mod:`.gx_engine`), never a Spark DataFrame, so in a process that has not
imported pyspark yet, GX is imported with pyspark hidden: GX then sees it as not installed,
and the process does not pay pyspark's import for nothing. pyspark is hidden only while GX
is imported: the Spark SQL engine (:mod:`pipeline.spark`) imports it as usual afterwards. In
a process that already imported pyspark (the Spark engine ran first), GX finds it, as
before.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType

HIDDEN = "pyspark"
_LOCK = threading.Lock()


def import_gx() -> ModuleType:
    """``great_expectations``, imported once per process (see the module docstring)."""
    loaded = sys.modules.get("great_expectations")
    if loaded is not None:
        return loaded
    with _LOCK:
        hide = HIDDEN not in sys.modules
        if hide:
            sys.modules[HIDDEN] = None  # an import of pyspark now raises ImportError
        try:
            import great_expectations
        finally:
            if hide and sys.modules.get(HIDDEN, ...) is None:
                del sys.modules[HIDDEN]
    return great_expectations
