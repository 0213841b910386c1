"""The code location loads, and every asset is fully described for the Dagster UI."""

from __future__ import annotations

import pytest
from dagster import AssetKey

from assets.quality import check_name_for
from orchestration.definitions import defs
from pipeline.catalog import TABLES

ASSET_SPECS = list(defs.resolve_asset_graph().asset_nodes)
CHECK_SPECS = {
    (spec.asset_key, spec.name): spec
    for checks_def in defs.asset_checks or []
    for spec in checks_def.check_specs
}


def test_definitions_load_with_the_refresh_job():
    assert defs.resolve_job_def("refresh") is not None


@pytest.mark.parametrize("node", ASSET_SPECS, ids=lambda n: n.key.to_user_string())
def test_every_asset_is_described(node):
    assert node.description, "description"
    assert node.group_name and node.group_name != "default", "group"
    assert node.kinds, "kinds"
    assert node.owners, "owners"
    schema = node.metadata.get("dagster/column_schema")
    assert schema is not None, "column schema"
    contract = TABLES[".".join(node.key.path)]
    assert [c.name for c in schema.columns] == [c.name for c in contract.columns]
    if contract.in_warehouse:
        assert node.metadata["dagster/table_name"] == contract.name


def test_every_table_has_an_asset_and_every_asset_a_contract():
    assets = {".".join(node.key.path) for node in ASSET_SPECS}
    assert sorted(assets - set(TABLES)) == [], "assets without a contract"
    assert sorted(set(TABLES) - assets) == [], "contracts without an asset"


@pytest.mark.parametrize("table", [t for t, c in TABLES.items() if c.checks])
def test_every_contract_with_checks_has_its_gx_check(table):
    spec = CHECK_SPECS[(AssetKey(table.split(".")), check_name_for(table))]
    assert spec.blocking == TABLES[table].blocking
    assert spec.description.startswith("Great Expectations suite")


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
    spec = CHECK_SPECS[(AssetKey(["staging", "transactions"]), "row_accounting")]
    assert spec.blocking
