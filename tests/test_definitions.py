"""The code location loads, and every asset is fully described for the Dagster UI."""

from __future__ import annotations

import pytest
from dagster import AssetKey

from assets.quality import check_name_for
from orchestration.definitions import defs
from pipeline.catalog import TABLES
from pipeline.modelling.model_runs import CHURN_MODEL, PRODUCT_MODEL, PROPENSITY_MODEL
from pipeline.segmentation import SEGMENT_MODELS

ASSET_SPECS = list(defs.resolve_asset_graph().asset_nodes)
CHECK_SPECS = {
    (spec.asset_key, spec.name): spec
    for checks_def in defs.asset_checks or []
    for spec in checks_def.check_specs
}
# Tables have a contract; the models/* assets are registered MLflow models, not tables.
TABLE_ASSETS = [n for n in ASSET_SPECS if n.key.path[0] != "models"]
MODEL_ASSETS = [n for n in ASSET_SPECS if n.key.path[0] == "models"]


def test_definitions_load_with_the_refresh_job():
    assert defs.resolve_job_def("refresh") is not None


@pytest.mark.parametrize("node", ASSET_SPECS, ids=lambda n: n.key.to_user_string())
def test_every_asset_is_described(node):
    assert node.description, "description"
    assert node.group_name and node.group_name != "default", "group"
    assert node.kinds, "kinds"
    assert node.owners, "owners"
    assert "dagster/code_references" in node.metadata, "code reference"


@pytest.mark.parametrize("node", TABLE_ASSETS, ids=lambda n: n.key.to_user_string())
def test_table_assets_carry_their_contracts_column_schema_and_table_name(node):
    schema = node.metadata.get("dagster/column_schema")
    assert schema is not None, "column schema"
    contract = TABLES[".".join(node.key.path)]
    assert [c.name for c in schema.columns] == [c.name for c in contract.columns]
    if contract.in_warehouse:
        assert node.metadata["dagster/table_name"] == contract.name


def test_every_table_has_an_asset_and_every_table_asset_a_contract():
    assets = {".".join(node.key.path) for node in TABLE_ASSETS}
    assert sorted(assets - set(TABLES)) == [], "assets without a contract"
    assert sorted(set(TABLES) - assets) == [], "contracts without an asset"


@pytest.mark.parametrize("table", [t for t, c in TABLES.items() if c.checks])
def test_every_contract_with_checks_has_its_gx_check(table):
    spec = CHECK_SPECS[(AssetKey(table.split(".")), check_name_for(table))]
    assert spec.blocking == TABLES[table].blocking
    assert spec.description.startswith("Great Expectations suite")


def test_code_references_point_at_the_defining_module():
    node = defs.resolve_asset_graph().get(AssetKey(["scores", "churn"]))
    (reference,) = node.metadata["dagster/code_references"].code_references
    assert reference.file_path.endswith("assets/scores.py")
    assert reference.line_number > 1


@pytest.mark.parametrize("node", TABLE_ASSETS, ids=lambda n: n.key.to_user_string())
def test_asset_keys_mirror_warehouse_tables(node):
    table = ".".join(node.key.path)
    assert table in TABLES
    assert node.group_name == node.key.path[0] or node.group_name in {"models", "marts", "bi"}


def test_model_assets_are_the_registered_models():
    registered = {CHURN_MODEL, PROPENSITY_MODEL, PRODUCT_MODEL, *SEGMENT_MODELS}
    assert {n.key.path[1] for n in MODEL_ASSETS} == registered
    for node in MODEL_ASSETS:
        assert node.group_name == "models"
        assert node.kinds == {"mlflow", "scikitlearn"}
        assert node.metadata["mlflow/scoring_uri"] == f"models:/{node.key.path[1]}@champion"


def test_kinds_use_the_ui_names():
    kinds = set().union(*(n.kinds for n in ASSET_SPECS))
    assert "sklearn" not in kinds
    assert "scikitlearn" in kinds


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
