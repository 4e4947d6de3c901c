"""``seqae train --modality text`` as one function: corpus -> tokenizer -> fitted model."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace

import numpy as np
import torch

from pipelines.io.corpus import Corpus, read_corpus
from pipelines.train.job import TrainJob
from seqae.errors import SeqaeError
from seqae.runs import (
    CONFIG_FILE,
    METRICS_FILE,
    RUN,
    TOKENIZER_FILE,
    check_output_dir,
    resume_or_start_over,
    save_torch_atomic,
    write_json_atomic,
    writer_lock,
)
from seqae.text.tokenizers import Tokenizer, fit_tokenizer, tokenizer_from_state, unknown_share

logger = logging.getLogger(__name__)


@dataclass
class TextTrainOutcome:
    """The training result, the corpus as read, and the tokenizer's view of it."""

    result: object  # seqae.text.training.TextTrainResult
    corpus: Corpus
    vocab_size: int
    unknown_share: float


def _check_resume(job: TrainJob) -> bool:
    """True if the run directory holds a compatible run to continue; clears it if told to."""
    parts = ("modality", "source", "corpus", "tokens", "model", "train")
    return resume_or_start_over(job.out, job.resume, job.resolved_config(), parts, (job.source,),
                                files=(TOKENIZER_FILE,))  # fmt: skip


def _tokenizer(job: TrainJob, texts: list[str], resume: bool) -> Tokenizer:
    """The run's saved tokenizer when resuming, else one fitted on ``texts`` (and saved)."""
    path = job.out / TOKENIZER_FILE
    if resume and path.is_file():
        return tokenizer_from_state(torch.load(path, weights_only=True))
    tokenizer = fit_tokenizer(job.tokens, texts)
    save_torch_atomic(tokenizer.state(), path)
    return tokenizer


def run_text_training(job: TrainJob, bars: bool = True) -> TextTrainOutcome:
    """Read the corpus, fit (or reload) the tokenizer, train, and write the run directory."""
    from seqae.text.training import fit_text  # imports Lightning: only when training starts

    corpus = read_corpus(job.source, job.corpus)
    if len(corpus.sentences) < 2:
        raise SeqaeError(f"{job.source}: fewer than 2 sentences ({len(corpus.skipped)} skipped)")
    with writer_lock(job.out):
        check_output_dir(job.out, RUN, inputs=(job.source,))
        job.out.mkdir(parents=True, exist_ok=True)
        return _train(job, corpus, bars, fit_text)


def _train(job: TrainJob, corpus: Corpus, bars: bool, fit_text) -> TextTrainOutcome:
    resume = _check_resume(job)
    write_json_atomic(job.out / CONFIG_FILE, job.resolved_config())  # first: marks a run
    tokenizer = _tokenizer(job, corpus.texts, resume)
    model = replace(job.model, vocab_size=tokenizer.vocab_size)
    sentences = [np.asarray(tokenizer.encode(t), dtype=np.int64) for t in corpus.texts]
    result = fit_text(sentences, tokenizer, model, job.train, job.out, resume, bars)
    unknown = unknown_share(tokenizer, corpus.texts)
    metrics = json.loads((job.out / METRICS_FILE).read_text())
    metrics.update(
        vocab_size=tokenizer.vocab_size,
        unknown_share=unknown,
        skipped=len(corpus.skipped),
        repaired=len(corpus.repaired),
    )
    write_json_atomic(job.out / METRICS_FILE, metrics)
    return TextTrainOutcome(result, corpus, tokenizer.vocab_size, unknown)
