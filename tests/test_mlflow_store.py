"""Pointing MLflow at a store leaves MLFLOW_TRACKING_URI as the user set it: MLflow's own
export of the URI made a store set for one task the default of every later task in the
process (a nightly run scored with another test's champions)."""

from __future__ import annotations

import os

import mlflow

from pipeline.modelling.tracking import point_mlflow_at
from resources.mlflow_tracking import ModelTracking


def test_the_store_is_used_and_the_variables_keep_the_users_values(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "sqlite:///configured.db")
    uri = f"sqlite:///{tmp_path / 'task.db'}"
    point_mlflow_at(uri)
    assert mlflow.get_tracking_uri() == uri
    assert mlflow.get_registry_uri() == uri
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert os.environ["MLFLOW_REGISTRY_URI"] == "sqlite:///configured.db"


def test_a_store_set_elsewhere_does_not_become_the_resources_default(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    point_mlflow_at(f"sqlite:///{tmp_path / 'someone_elses.db'}")
    expected = f"sqlite:///{tmp_path / 'data' / 'mlflow' / 'mlflow.db'}"
    assert ModelTracking().resolved_tracking_uri == expected
