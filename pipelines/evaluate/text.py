"""``seqae eval text``: how well a sentence autoencoder rebuilds and finds held-out sentences.

Reconstruction: every sentence is embedded and decoded again (greedy, or beam search); token
accuracy (the model's own tokens, position by position), exact-match rate and corpus BLEU
(sacreBLEU, 0-1) against the sentence as read. Retrieval: a perturbed copy of each sentence
(word drops, swaps, substitutions) searches all the originals in an exact FAISS index; recall
at 1 and 10, beside a TF-IDF baseline (scikit-learn, its defaults) on the same queries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from index import build_flat_index, search_index
from pipelines.evaluate.perturb import Perturber
from pipelines.io.corpus import CorpusOptions, read_corpus
from seqae.errors import SeqaeError
from seqae.text.bundle import TextModelBundle, load_text_bundle
from seqae.text.metrics import corpus_bleu, exact_match, recall_at, token_accuracy

DEPTH = 10  # recall is measured at 1 and at this depth


@dataclass(frozen=True)
class TextEvalOptions:
    """What ``seqae eval text`` measures, and on how many sentences."""

    beam: int = 1  # 1: greedy decoding
    perturb_rate: float = 0.15  # edits per word of each query (at least one per sentence)
    seed: int = 0
    limit: int = 0  # the first N sentences only (0: all)
    batch_size: int = 64
    corpus: CorpusOptions = CorpusOptions()


@dataclass(frozen=True)
class RetrievalScore:
    """Recall of the originals from their perturbed copies, for one method."""

    method: str
    recall_at_1: float
    recall_at_10: float
    seconds_per_query: float


@dataclass
class TextEvalReport:
    """Every figure of one evaluation, with a few examples and what was skipped."""

    model_id: str
    sentences: int
    decoding: str
    token_accuracy: float
    exact_match: float
    bleu: float
    retrieval: list[RetrievalScore]
    examples: list[dict[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _timed(
    search: Callable[[list[str]], np.ndarray], queries: list[str]
) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    ranked = search(queries)
    return ranked, (time.perf_counter() - started) / max(1, len(queries))


def model_search(bundle: TextModelBundle, archive: list[str]) -> Callable[[list[str]], np.ndarray]:
    """Embed and index ``archive``; the returned function ranks it for each query by cosine
    through FAISS: queries -> (Q, DEPTH) archive rows."""
    index = build_flat_index(bundle.embed(archive))
    return lambda queries: search_index(index, bundle.embed(queries), DEPTH)[1]


def tfidf_search(archive: list[str], chunk: int = 1000) -> Callable[[list[str]], np.ndarray]:
    """Fit TF-IDF on ``archive``; the returned function ranks it for each query by cosine:
    queries -> (Q, DEPTH) archive rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer()
    matrix = vectorizer.fit_transform(archive)  # (N, V), rows of unit length
    depth = min(DEPTH, len(archive))

    def search(queries: list[str]) -> np.ndarray:
        ranked = []
        for start in range(0, len(queries), chunk):
            scores = (vectorizer.transform(queries[start : start + chunk]) @ matrix.T).toarray()
            top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]  # (q, depth) unordered
            order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
            ranked.append(np.take_along_axis(top, order, axis=1))
        return np.concatenate(ranked)

    return search


def retrieval_scores(
    bundle: TextModelBundle, archive: list[str], options: TextEvalOptions
) -> list[RetrievalScore]:
    """Recall at 1 and 10 of the model and of TF-IDF, on one set of perturbed queries;
    seconds per query count the query's side only (the archive is embedded beforehand)."""
    perturb = Perturber(archive, options.perturb_rate, options.seed)
    queries = [perturb(sentence) for sentence in archive]
    truth = np.arange(len(archive))
    methods = {
        f"model {bundle.model_id}": model_search(bundle, archive),
        "TF-IDF (scikit-learn defaults)": tfidf_search(archive),
    }
    scores = []
    for name, search in methods.items():
        ranked, seconds = _timed(search, queries)
        recall = (recall_at(ranked, truth, 1), recall_at(ranked, truth, DEPTH))
        scores.append(RetrievalScore(name, *recall, seconds))
    return scores


def evaluate_text(run: Path, corpus_path: Path, options: TextEvalOptions) -> TextEvalReport:
    """Score the text model in ``run`` on the sentences of ``corpus_path``."""
    bundle = load_text_bundle(run)
    corpus = read_corpus(corpus_path, options.corpus)
    texts = corpus.texts[: options.limit] if options.limit else corpus.texts
    if len(texts) < 2:
        raise SeqaeError(f"{corpus_path}: needs at least 2 sentences to evaluate")
    references = bundle.encode(texts)
    outputs = bundle.reconstruct_ids(texts, options.beam, options.batch_size)
    rebuilt = [bundle.tokenizer.decode(ids) for ids in outputs]
    return TextEvalReport(
        model_id=bundle.model_id,
        sentences=len(texts),
        decoding="greedy" if options.beam <= 1 else f"beam search, width {options.beam}",
        token_accuracy=token_accuracy(references, outputs),
        exact_match=exact_match(texts, rebuilt),
        bleu=corpus_bleu(texts, rebuilt),
        retrieval=retrieval_scores(bundle, texts, options),
        examples=[
            {"sentence": a, "rebuilt": b} for a, b in zip(texts[:5], rebuilt[:5], strict=True)
        ],
        skipped=corpus.skipped,
        repaired=corpus.repaired,
    )
