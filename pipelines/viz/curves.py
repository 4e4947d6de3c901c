"""Training curves: the metrics a run logged (Lightning's CSVLogger) against training steps.

A run logs to ``RUN/logs/version_N/metrics.csv``, one version per (re)start; a two-stage run
(``--objective cae`` or ``siamese``) also has its pretraining in ``RUN/pretrain/logs``.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqae.errors import SeqaeError
from seqae.runs import LOGS_DIR, PRETRAIN_DIR

STAGES = ((PRETRAIN_DIR, "pretraining"), ("", "training"))
SPLITS = ("train", "val", "test")
SKIPPED = {"epoch", "step"}


@dataclass(frozen=True)
class Series:
    """One logged metric: its values at the steps where it was logged."""

    name: str  # as logged, e.g. train_loss_step
    steps: np.ndarray  # (n,) int
    values: np.ndarray  # (n,) float


@dataclass
class Stage:
    """The metrics of one stage of a run, across its restarts."""

    name: str
    files: list[Path]
    series: dict[str, Series] = field(default_factory=dict)


def metric_group(name: str) -> str:
    """What a metric measures, whatever the split or reduction: train_loss_step -> loss."""
    base = re.sub(r"^(" + "|".join(SPLITS) + r")_", "", name)
    return re.sub(r"_(step|epoch)$", "", base)


def _version(path: Path) -> int:
    match = re.search(r"version_(\d+)$", path.parent.name)
    return int(match.group(1)) if match else -1


def read_stage(log_dir: Path, name: str) -> Stage | None:
    """Every ``version_*/metrics.csv`` below ``log_dir``, in version order (None: none)."""
    files = sorted(log_dir.glob("version_*/metrics.csv"), key=_version)
    if not files:
        return None
    points: dict[str, list[tuple[int, float]]] = {}
    for path in files:
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    _add_row(points, row, path)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise SeqaeError(f"{path}: cannot read the logged metrics ({error})") from None
    stage = Stage(name, files)
    for metric, pairs in points.items():
        pairs.sort(key=lambda pair: pair[0])
        steps, values = zip(*pairs, strict=True)
        stage.series[metric] = Series(metric, np.array(steps), np.array(values, dtype=float))
    return stage


def _add_row(points: dict[str, list[tuple[int, float]]], row: dict, path: Path) -> None:
    try:
        step = int(float(row.get("step") or "nan"))
    except ValueError:
        raise SeqaeError(f"{path}: a row without a step number ({row})") from None
    for metric, value in row.items():
        if metric is None or metric in SKIPPED or value in (None, ""):
            continue
        try:
            number = float(value)
        except ValueError:
            raise SeqaeError(f"{path}: {metric} = {value!r} at step {step}, not a number") from None
        if math.isfinite(number):
            points.setdefault(metric, []).append((step, number))


def read_run_metrics(run: Path) -> list[Stage]:
    """The stages of a run directory that logged metrics, pretraining first."""
    run = Path(run)
    if not run.is_dir():
        raise SeqaeError(f"{run}: no such run directory")
    stages = [read_stage(run / prefix / LOGS_DIR, name) for prefix, name in STAGES]
    found = [stage for stage in stages if stage is not None and stage.series]
    if not found:
        raise SeqaeError(f"{run}: no logged metrics (logs/version_*/metrics.csv) in this run")
    return found


SPLIT_COLOURS = {"train": "tab:blue", "val": "tab:green", "test": "tab:red"}


def _style(name: str) -> dict:
    """One colour per split; per-step values faint, validation values marked."""
    style = {"linewidth": 1.6, "color": SPLIT_COLOURS.get(name.split("_")[0], "tab:purple")}
    if name.endswith("_step"):
        style |= {"linewidth": 0.8, "alpha": 0.35}
    if name.startswith("val_"):
        style |= {"marker": "o", "markersize": 3}
    return style


def plot_curves(stages: list[Stage], out: Path, title: str) -> list[str]:
    """One row of panels per metric (loss, accuracy, ...), one column per stage; returns the
    metric groups drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted(
        {metric_group(name) for stage in stages for name in stage.series},
        key=lambda group: (group != "loss", group),
    )
    figure, axes = plt.subplots(
        len(groups),
        len(stages),
        figsize=(6.5 * len(stages), 3.6 * len(groups)),
        squeeze=False,
        layout="constrained",
    )
    for column, stage in enumerate(stages):
        for row, group in enumerate(groups):
            panel = axes[row][column]
            for name, series in sorted(stage.series.items()):
                if metric_group(name) == group:
                    panel.plot(series.steps, series.values, label=name, **_style(name))
            panel.set_title(f"{stage.name}: {group}")
            panel.set_xlabel("step")
            panel.grid(alpha=0.3)
            if panel.lines:
                panel.legend(fontsize=8)
            else:
                panel.set_visible(False)
    figure.suptitle(title)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return groups
