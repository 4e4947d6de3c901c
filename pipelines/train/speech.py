"""``seqae train`` as one function: manifest -> features -> fitted model in a run directory."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pipelines.io.extract import Extraction, extract_features, extract_long_segments
from pipelines.io.manifest import read_manifest
from pipelines.segment.longform import SEGMENT_MODES, SegmentSettings
from pipelines.segment.vad import VAD_METHODS
from pipelines.train.job import TrainJob
from pipelines.train.pairs import (
    PairReport,
    crossing_groups,
    discover_pairs,
    label_pairs,
    pair_report,
)
from seqae.config import TrainConfig
from seqae.errors import SeqaeError
from seqae.runs import (
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    PAIRS_FILE,
    PAIRS_REPORT,
    PRETRAIN_DIR,
    resume_or_start_over,
    write_json_atomic,
    write_text_atomic,
    writer_lock,
)

logger = logging.getLogger(__name__)


def is_main_process() -> bool:
    """False in the extra processes of data-parallel training (which must write nothing).

    Lightning re-runs the whole command once per extra process on a node, telling each its
    rank in ``LOCAL_RANK`` (and the node's in ``NODE_RANK``); torchrun sets ``RANK``.
    """
    return all(os.environ.get(name, "0") == "0" for name in ("RANK", "NODE_RANK", "LOCAL_RANK"))


def _check_resume(job: TrainJob, config: dict) -> bool:
    """True if the run directory holds a compatible run to continue; clears it if told to."""
    parts = ("source", "features", "model", "train", "segments")
    return resume_or_start_over(job.out, job.resume, config, parts, (job.source,),
                                stages=(PRETRAIN_DIR,), writer=is_main_process())  # fmt: skip


def train_model(job: TrainJob, progress: Callable[[int], None] | None = None, bars: bool = True):
    """Load the data and fit, holding the run directory's write lock; (data, result)."""
    with writer_lock(job.out) if is_main_process() else nullcontext():
        data = load_training_data(job, progress)
        return data, run_training(job, data, bars)


@dataclass
class TrainingData:
    """Log-mel spectra of the readable segments, and what was skipped."""

    extraction: Extraction
    resume: bool

    @property
    def skipped(self) -> list[str]:
        return [reason for _, reason in self.extraction.skipped]


def load_training_data(
    job: TrainJob, progress: Callable[[int], None] | None = None
) -> TrainingData:
    """Check the run directory, then extract features of every readable segment (with
    ``job.segments``, of every segment cut from the recordings of the folder ``job.source``)."""
    resume = _check_resume(job, job.resolved_config())
    if job.segments is not None:
        if job.train.pairs == "labels" and job.train.paired:
            raise SeqaeError(f"{job.source}: --pairs labels needs a manifest with labels")
        extraction = extract_long_segments(job.source, job.segments, job.features, progress)
    else:
        segments = read_manifest(job.source)
        if job.train.paired and job.train.pairs == "labels" and not any(s.label for s in segments):
            raise SeqaeError(f"{job.source}: --pairs labels needs a 'label' column with values")
        extraction = extract_features(segments, job.features, progress=progress, log_mel=True)
    if len(extraction.features) < 2:
        raise SeqaeError(
            f"{job.source}: fewer than 2 readable segments ({len(extraction.skipped)} skipped)"
        )
    return TrainingData(extraction, resume)


def run_training(job: TrainJob, data: TrainingData, bars: bool = True):
    """Fit the model on prepared data and write the run directory; returns the TrainResult.

    ``cae`` and ``siamese`` run in two stages: a denoising autoencoder is pretrained in
    ``RUN/pretrain`` (kept, so a resumed run skips it), pairs are found or read and written
    to ``RUN/pairs.csv``, then the final model starts from the pretrained weights.
    """
    from seqae.training import fit  # imports Lightning: only when training really starts

    job.out.mkdir(parents=True, exist_ok=True)
    main = is_main_process()
    if main:
        write_json_atomic(job.out / CONFIG_FILE, job.resolved_config())
    log_mels = data.extraction.features
    common = dict(
        features=job.features, model=job.model, progress=bars, stats=data.extraction.stats
    )
    if not job.train.paired:
        return fit(log_mels, train=job.train, out=job.out, resume=data.resume, **common)
    pretrain = _pretrain(job, data, fit, common)
    pairs, report = make_pairs(job.train, data.extraction, pretrain)
    if main:
        _write_pairs(job.out / PAIRS_FILE, data.extraction, pairs)
        write_json_atomic(job.out / PAIRS_REPORT, report.to_dict())
    logger.info(
        "%d pairs (%s) covering %d segments", report.pairs, report.source, report.segments_paired
    )
    if len(pairs) == 0:
        raise SeqaeError(f"{job.source}: no pairs of segments found; nothing to train on")
    state = pretrain.model.state_dict()
    result = fit(
        log_mels,
        train=job.train,
        out=job.out,
        resume=data.resume,
        pairs=pairs,
        init=state,
        **common,
    )
    # the run's training time counts both stages
    before = json.loads((job.out / PRETRAIN_DIR / METRICS_FILE).read_text())["seconds"]
    result = replace(result, seconds=result.seconds + before)
    metrics = json.loads((job.out / METRICS_FILE).read_text())
    metrics.update(seconds=result.seconds, pretrain_seconds=before, pairs=report.to_dict())
    if main:
        write_json_atomic(job.out / METRICS_FILE, metrics)
    return result


def _pretrain(job: TrainJob, data: TrainingData, fit, common: dict):
    """The denoising autoencoder a paired objective starts from (trained once, then reused)."""
    from seqae.bundle import load_bundle

    out = job.out / PRETRAIN_DIR
    if not (data.resume and (out / MODEL_FILE).is_file()):
        settings = replace(job.train, objective="dae", epochs=job.train.pretrain_epochs)
        logger.info("pretraining a denoising autoencoder for %d epochs", settings.epochs)
        fit(data.extraction.features, train=settings, out=out, resume=data.resume, **common)
    return load_bundle(out)


def make_pairs(train: TrainConfig, extraction: Extraction, bundle) -> tuple[np.ndarray, PairReport]:
    """(P, 2) row pairs from the manifest's labels, or discovered with the pretrained model."""
    from seqae.audio import frames_from_log_mel

    labels = np.array([s.label for s in extraction.segments])
    speakers = np.array([s.metadata.get("speaker", "") for s in extraction.segments])
    if train.pairs == "labels":
        pairs = label_pairs(labels)
        return pairs, pair_report(pairs, len(pairs), 0.0, labels, "labels", speakers)
    stats = extraction.stats or [None] * len(extraction.features)
    frames = [
        frames_from_log_mel(m, bundle.features, s)
        for m, s in zip(extraction.features, stats, strict=True)
    ]
    embeddings = bundle.embed(frames)
    if not np.isfinite(embeddings).all():
        raise SeqaeError(
            f"{bundle.path}: the pretrained model gives non-finite embeddings (training "
            "diverged); lower --lr or --clip, or pick another --cell"
        )
    across, groups = pair_groups(train, extraction, speakers)
    return discover_pairs(
        frames,
        embeddings,
        neighbours=train.pair_neighbours,
        threshold=train.pair_threshold,
        keep=train.pair_keep,
        labels=labels,
        groups=groups,
        speakers=speakers,
        across=across,
    )


def pair_groups(
    train: TrainConfig, extraction: Extraction, speakers: np.ndarray
) -> tuple[str, np.ndarray | None]:
    """What discovered pairs must cross (see pipelines.train.pairs.crossing_groups)."""
    files = np.array([str(s.path) for s in extraction.segments])
    return crossing_groups(train.pair_across, speakers, files)


def _write_pairs(path: Path, extraction: Extraction, pairs: np.ndarray) -> None:
    """The pairs as CSV (both segments' path, start, end, label), written atomically."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["path_a", "start_a", "end_a", "label_a", "path_b", "start_b", "end_b", "label_b"]
    )
    for a, b in pairs:
        row = []
        for segment in (extraction.segments[a], extraction.segments[b]):
            row += [segment.path, segment.start, segment.end, segment.label]
        writer.writerow(row)
    write_text_atomic(path, buffer.getvalue())


def long_recording_settings(source: Path, segment: str, vad: str):
    """How ``--segment`` cuts the recordings of the folder ``source`` (None: it does not)."""
    if segment == "none":
        return None
    if segment not in SEGMENT_MODES:
        raise SeqaeError(f"--segment must be none, {' or '.join(SEGMENT_MODES)}, not {segment!r}")
    if vad not in VAD_METHODS:
        raise SeqaeError(f"--vad must be one of {', '.join(VAD_METHODS)}, not {vad!r}")
    if not source.is_dir():
        raise SeqaeError(f"{source}: --segment {segment} cuts the recordings of a folder")
    return SegmentSettings(mode=segment, vad=vad)
