"""The code location loads, and every asset is fully described for the Dagster UI."""

from __future__ import annotations

import pytest
from dagster import AssetKey

from orchestration.definitions import defs
from pipeline.catalog import TABLES
from pipeline.modelling.model_runs import CHURN_MODEL, PRODUCT_MODEL, PROPENSITY_MODEL

ASSET_SPECS = list(defs.resolve_asset_graph().asset_nodes)
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
def test_table_assets_carry_their_column_schema_and_table_name(node):
    assert "dagster/column_schema" in node.metadata, "column schema"
    assert node.metadata["dagster/table_name"] == ".".join(node.key.path)


def test_code_references_point_at_the_defining_module():
    node = defs.resolve_asset_graph().get(AssetKey(["scores", "churn"]))
    (reference,) = node.metadata["dagster/code_references"].code_references
    assert reference.file_path.endswith("assets/models.py")
    assert reference.line_number > 1


@pytest.mark.parametrize("node", TABLE_ASSETS, ids=lambda n: n.key.to_user_string())
def test_asset_keys_mirror_warehouse_tables(node):
    table = ".".join(node.key.path)
    assert table in TABLES
    assert node.group_name == node.key.path[0] or node.group_name in {"models", "marts", "bi"}


def test_model_assets_are_the_registered_models():
    assert {n.key.path[1] for n in MODEL_ASSETS} == {CHURN_MODEL, PROPENSITY_MODEL, PRODUCT_MODEL}
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
    checks = {
        spec.key.name: spec
        for checks_def in defs.asset_checks or []
        for spec in checks_def.check_specs
    }
    assert checks["row_accounting"].blocking
    assert checks["row_accounting"].asset_key == AssetKey(["staging", "transactions"])
