"""``logger=csv|tensorboard|wandb|mlflow`` and their combinations: each logger gets the stage's run name in the
argument its class takes, and a tiny real fit (pretrain -> calibrate) writes every logger's metrics where the README
says: CSV and TensorBoard folders per stage, one offline wandb run and one MLflow run per stage."""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hydra.errors import MissingConfigException
from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger, TensorBoardLogger, WandbLogger

from batpal.fit import fit
from batpal.stages.loggers import WandbStageLogger, log_version, stage_argument
from tests.conftest import TINY, compose_config

ALL = "logger=[csv,tensorboard,wandb,mlflow]"
STAGES = ["stages=[pretrain,calibrate]", "calibrate.frames=800", "calibrate.iters_per_epoch=1",
          "calibrate.eval_episodes=6", "calibrate.ppo.ppo_epochs=2"]
PRETRAIN_FRAMES = [400.0, 800.0, 1200.0, 1600.0]  # TINY: 4 iterations of 16 envs x 25 steps (an epoch's end repeats
# its last row, so the tests compare the distinct values)
NEEDS_EXTRA = "the wandb and mlflow loggers need the `loggers` extra: pip install -e '.[dev,loggers]' (CI installs it)"


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pretrain -> calibrate run logging to all four loggers at once."""
    for module in ("wandb", "mlflow"):
        pytest.importorskip(module, reason=NEEDS_EXTRA)
    run_dir = tmp_path_factory.mktemp("loggers") / "run"
    fit(compose_config(["experiment=mpe_spread", *TINY, *STAGES, ALL], run_dir))
    return run_dir


def test_each_logger_class_is_given_the_stage_in_the_argument_it_takes():
    assert stage_argument(CSVLogger, "pretrain") == {"version": "pretrain"}
    assert stage_argument(TensorBoardLogger, "pretrain") == {"version": "pretrain"}
    assert stage_argument(WandbStageLogger, "calibrate") == {"name": "calibrate"}  # its `version` is a wandb run id
    assert stage_argument(WandbLogger, "calibrate") == {"name": "calibrate"}
    assert stage_argument(MLFlowLogger, "attack") == {"run_name": "attack"}

    class Custom(Logger):  # a user's logger: not passed anything it may not take
        pass

    assert stage_argument(Custom, "pretrain") == {}


def test_a_resumed_stage_logs_under_a_new_name_whichever_folder_it_left(tmp_path: Path):
    assert log_version(tmp_path, "pretrain") == "pretrain"
    (tmp_path / "tensorboard" / "pretrain").mkdir(parents=True)  # logger=tensorboard alone
    assert log_version(tmp_path, "pretrain") == "pretrain-resumed1"
    (tmp_path / "metrics" / "pretrain-resumed1").mkdir(parents=True)
    assert log_version(tmp_path, "pretrain") == "pretrain-resumed2"
    assert log_version(tmp_path, "calibrate") == "calibrate"


def test_logger_choices_compose_only_the_named_loggers(tmp_path: Path):
    default = compose_config([], tmp_path).logger
    assert compose_config(["logger=[csv,tensorboard]"], tmp_path).logger == default  # the default, spelt out
    assert list(compose_config(["logger=mlflow"], tmp_path).logger) == ["mlflow"]
    assert list(compose_config(["logger=[csv,wandb]"], tmp_path).logger) == ["csv", "wandb"]
    mlflow = compose_config(["logger=mlflow"], tmp_path).logger.mlflow
    assert mlflow.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"  # a local store in the run dir
    assert compose_config(["logger=wandb"], tmp_path).logger.wandb.offline is True  # no network unless asked


def test_an_unknown_logger_name_is_a_hydra_error_listing_the_choices(tmp_path: Path):
    with pytest.raises(MissingConfigException, match=r"logger/neptune") as err:
        compose_config(["logger=neptune"], tmp_path)
    assert all(name in str(err.value) for name in ("csv", "tensorboard", "wandb", "mlflow"))


@pytest.mark.slow  # the shared fit: ~35 s on 2 busy cores (MLflow's first database ~10 s of it)
def test_csv_and_tensorboard_write_one_folder_per_stage_as_before(logged_run: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with (logged_run / "metrics" / "pretrain" / "metrics.csv").open() as f:
        frames = [float(row["frames"]) for row in csv.DictReader(f) if row["frames"]]
    assert sorted(set(frames)) == PRETRAIN_FRAMES
    assert (logged_run / "metrics" / "calibrate" / "metrics.csv").is_file()
    events = EventAccumulator(str(logged_run / "tensorboard" / "pretrain"))
    events.Reload()
    assert sorted({e.value for e in events.Scalars("frames")}) == PRETRAIN_FRAMES
    assert "train/return" in events.Tags()["scalars"]


@pytest.mark.slow  # the shared fit: ~35 s on 2 busy cores (MLflow's first database ~10 s of it)
def test_mlflow_logs_one_run_per_stage_in_the_run_dirs_store(logged_run: Path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{logged_run}/mlflow.db")
    experiment = client.get_experiment_by_name("mpe_spread")
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"pretrain", "calibrate"}
    pretrain = runs["pretrain"]
    assert pretrain.info.status == "FINISHED" and pretrain.data.tags["run_dir"] == str(logged_run)
    assert "train/return" in pretrain.data.metrics
    history = client.get_metric_history(pretrain.info.run_id, "frames")
    assert sorted({m.value for m in history}) == PRETRAIN_FRAMES


@pytest.mark.slow  # the shared fit: ~35 s on 2 busy cores (MLflow's first database ~10 s of it)
def test_wandb_logs_one_offline_run_per_stage_grouped_by_the_run_dir(logged_run: Path):
    runs = sorted((logged_run / "wandb").glob("offline-run-*"))
    assert len(runs) == 2  # pretrain, then calibrate: each stage finishes its own run
    by_name = {}
    for folder in runs:
        (log,) = folder.glob("run-*.wandb")
        records = wandb_records(log)
        run = next(r.run for r in records if r.HasField("run"))
        assert run.run_group == str(logged_run) and run.project == "mpe_spread"
        assert next(r.exit for r in records if r.HasField("exit")).exit_code == 0  # finished at the stage's end
        by_name[run.display_name] = [history(r) for r in records if r.HasField("history")]
    assert set(by_name) == {"pretrain", "calibrate"}
    rows = by_name["pretrain"]
    assert sorted({row["frames"] for row in rows if "frames" in row}) == PRETRAIN_FRAMES
    assert any("train/return" in row for row in rows)


def wandb_records(path: Path) -> list[Any]:
    """The protobuf records of a wandb run's transaction log (``run-<id>.wandb``): a 7-byte file header, then
    LevelDB-log-style chunks (crc32, length, type: 1 full, 2 first, 3 middle, 4 last) in 32 KiB blocks."""
    from wandb.proto.wandb_internal_pb2 import Record

    data, block = path.read_bytes(), 32768
    assert data[:4] == b":W&B", "not a wandb transaction log"
    records, pos, pending = [], 7, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a chunk header is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def history(record: Any) -> dict[str, Any]:
    """One history row of a wandb record: metric key -> value."""
    return {"/".join(item.nested_key) or item.key: json.loads(item.value_json) for item in record.history.item}
