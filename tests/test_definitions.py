"""The code location loads, and every asset is fully described for the Dagster UI."""

from __future__ import annotations

import pytest
from dagster import AssetKey

from orchestration.definitions import defs
from pipeline.catalog import TABLES

ASSET_SPECS = list(defs.resolve_asset_graph().asset_nodes)


def test_definitions_load_with_the_refresh_job():
    assert defs.resolve_job_def("refresh") is not None


@pytest.mark.parametrize("node", ASSET_SPECS, ids=lambda n: n.key.to_user_string())
def test_every_asset_is_described(node):
    assert node.description, "description"
    assert node.group_name and node.group_name != "default", "group"
    assert node.kinds, "kinds"
    assert node.owners, "owners"
    assert "dagster/column_schema" in node.metadata, "column schema"


@pytest.mark.parametrize("node", ASSET_SPECS, ids=lambda n: n.key.to_user_string())
def test_asset_keys_mirror_warehouse_tables(node):
    table = ".".join(node.key.path)
    assert table in TABLES
    assert node.group_name == node.key.path[0] or node.group_name in {"models", "marts", "bi"}


def test_writing_assets_share_the_single_writer_pool():
    job = defs.resolve_job_def("refresh")
    pools = {node.name: node.definition.pool for node in job.graph.node_dict.values()}
    writers = {
        name: pool for name, pool in pools.items() if name in {"raw_ingest", "staging_clean"}
    }
    assert set(writers.values()) == {"duckdb_writer"}


def test_row_accounting_check_is_blocking():
    checks = {
        spec.key.name: spec
        for checks_def in defs.asset_checks or []
        for spec in checks_def.check_specs
    }
    assert checks["row_accounting"].blocking
    assert checks["row_accounting"].asset_key == AssetKey(["staging", "transactions"])
