"""MLflow tracking and registry as a Dagster resource.

The embedded default is a SQLite tracking store with local artifacts under DATA_DIR/mlflow;
set MLFLOW_TRACKING_URI (and optionally MLFLOW_ARTIFACT_LOCATION) for a team server. Runs
are opened and closed by :meth:`ModelTracking.run`, so no run is left open when a step
fails (the failure is recorded on the run). A process killed inside a run cannot close it:
the next Dagster run that uses this resource ends such runs as FAILED
(:meth:`ModelTracking.end_abandoned_runs`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import Field

from pipeline.modelling.tracking import point_mlflow_at
from pipeline.settings import Settings
from resources.run_recovery import run_is_alive

if TYPE_CHECKING:
    import mlflow

log = logging.getLogger(__name__)
DAGSTER_RUN_TAG = "dagster_run_id"


class MlflowUnavailableError(RuntimeError):
    """The tracking store cannot be reached or written."""


def _default_tracking_uri() -> str:
    # Only the user sets the variable: point_mlflow_at undoes MLflow's own export of it.
    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return configured
    return f"sqlite:///{Settings.from_env().mlflow_dir / 'mlflow.db'}"


def _default_artifact_location() -> str:
    configured = os.environ.get("MLFLOW_ARTIFACT_LOCATION")
    if configured:
        return configured
    return (Settings.from_env().mlflow_dir / "artifacts").as_uri()


class ModelTracking(ConfigurableResource):
    """Where models are tracked and registered."""

    tracking_uri: str = Field(
        default="",
        description="MLflow tracking URI; empty means $MLFLOW_TRACKING_URI, else "
        "sqlite:///DATA_DIR/mlflow/mlflow.db (resolved at run time).",
    )
    artifact_location: str = Field(
        default="",
        description="Artifact root for a new experiment; empty means "
        "$MLFLOW_ARTIFACT_LOCATION, else DATA_DIR/mlflow/artifacts.",
    )
    experiment_name: str = Field(default="customer-intel", description="MLflow experiment.")

    @property
    def resolved_tracking_uri(self) -> str:
        return self.tracking_uri or _default_tracking_uri()

    @property
    def resolved_artifact_location(self) -> str:
        return self.artifact_location or _default_artifact_location()

    def _prepare_local_store(self) -> None:
        if self.resolved_tracking_uri.startswith("sqlite:///"):
            path = self.resolved_tracking_uri.removeprefix("sqlite:///")
            try:
                os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            except OSError as error:
                raise MlflowUnavailableError(
                    f"cannot create the MLflow store folder for {path}: {error}"
                ) from error

    def client(self) -> mlflow.MlflowClient:
        import mlflow

        self._prepare_local_store()
        uri = self.resolved_tracking_uri
        point_mlflow_at(uri)
        return mlflow.MlflowClient(uri, uri)

    def experiment_id(self) -> str:
        client = self.client()
        try:
            experiment = client.get_experiment_by_name(self.experiment_name)
            if experiment is not None:
                return experiment.experiment_id
            return client.create_experiment(
                self.experiment_name, artifact_location=self.resolved_artifact_location
            )
        except Exception as error:  # MLflow raises many store-specific types
            raise MlflowUnavailableError(
                f"MLflow store {self.resolved_tracking_uri} is unavailable: {error}"
            ) from error

    def end_abandoned_runs(self, is_alive: Callable[[str], bool]) -> list[str]:
        """End as FAILED the experiment's RUNNING runs whose Dagster run (tag
        ``dagster_run_id``) is no longer alive; returns their MLflow run ids."""
        client = self.client()
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            return []
        abandoned = []
        for run in client.search_runs(
            [experiment.experiment_id], filter_string="attributes.status = 'RUNNING'"
        ):
            dagster_run_id = run.data.tags.get(DAGSTER_RUN_TAG)
            if dagster_run_id and not is_alive(dagster_run_id):
                client.set_tag(
                    run.info.run_id,
                    "ended_by",
                    f"its Dagster run {dagster_run_id} died before ending it",
                )
                client.set_terminated(run.info.run_id, status="FAILED")
                abandoned.append(run.info.run_id)
        return abandoned

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[ModelTracking]:
        """Before the run uses MLflow, end the runs that killed Dagster runs left RUNNING."""
        if context.instance is not None:
            instance, current = context.instance, context.run_id
            try:
                ended = self.end_abandoned_runs(
                    lambda run_id: run_id == current or run_is_alive(instance, run_id)
                )
            except Exception as error:  # best effort: the next run tries again
                (context.log or log).warning(f"could not end abandoned MLflow runs: {error}")
            else:
                if ended:
                    (context.log or log).warning(
                        f"ended {len(ended)} MLflow run(s) left RUNNING by a killed run as "
                        f"FAILED: {', '.join(ended)}"
                    )
        yield self

    @contextmanager
    def run(self, run_name: str, tags: dict[str, str] | None = None) -> Iterator[mlflow.ActiveRun]:
        """An MLflow run that is always ended: FINISHED, or FAILED if the block raises."""
        import mlflow

        experiment_id = self.experiment_id()
        active = mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags)
        try:
            yield active
        except BaseException:
            mlflow.end_run(status="FAILED")
            raise
        mlflow.end_run(status="FINISHED")


def tracking_from_env() -> ModelTracking:
    """The resource with MLFLOW_TRACKING_URI and MLFLOW_ARTIFACT_LOCATION as EnvVars when they
    are set (the Resources tab then names them), else the embedded store under DATA_DIR,
    resolved at run time."""
    return ModelTracking(
        **{
            field: EnvVar(name)
            for field, name in (
                ("tracking_uri", "MLFLOW_TRACKING_URI"),
                ("artifact_location", "MLFLOW_ARTIFACT_LOCATION"),
            )
            if os.environ.get(name)
        }
    )
