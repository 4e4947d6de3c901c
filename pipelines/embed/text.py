"""Embed every sentence of a corpus into sharded ``.npy`` + ``.parquet`` files (resumable).

The layout is the audio one (see pipelines.embed.shards), without frames; each metadata row holds
the sentence's text, its file and line, and the input's other columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from pipelines.embed.shards import (
    FORMAT_VERSION,
    INFO_FILE,
    KIND,
    read_info,
    record_shard,
    shard_is_intact,
    write_shard,
)
from pipelines.embed.speech import EmbedSummary
from pipelines.io.corpus import (
    Corpus,
    CorpusOptions,
    Sentence,
    metadata_columns,
    read_corpus,
)
from seqae.errors import SeqaeError
from seqae.runs import EMBEDDINGS, check_output_dir, write_json_atomic, writer_lock
from seqae.text.bundle import TextModelBundle, load_text_bundle


def sentence_table(sentences: list[Sentence], columns: list[str], first_row: int) -> pa.Table:
    """Metadata rows: text, every metadata column (as strings), and the row number."""
    data = {"text": pa.array([s.text for s in sentences], pa.string())}
    for column in columns:
        data[column] = pa.array([s.metadata.get(column, "") for s in sentences], pa.string())
    data["row"] = pa.array(range(first_row, first_row + len(sentences)), pa.int64())
    return pa.table(data)


def _prepare(out: Path, bundle: TextModelBundle, source: Path, count: int, shard_size: int) -> dict:
    """Start a new embedding directory, or check that an existing one belongs to this job."""
    check_output_dir(out, EMBEDDINGS, inputs=(source, bundle.path))
    if (out / INFO_FILE).is_file():
        info = read_info(out)
        if info["model_id"] != bundle.model_id:
            raise SeqaeError(
                f"{out}: holds embeddings of model {info['model_id']}, not "
                f"{bundle.model_id}; choose another --out"
            )
        same_input = info["source"] == str(source.resolve()) and info.get("sentences") == count
        if info["shard_size"] != shard_size or not same_input:
            raise SeqaeError(
                f"{out}: made from a different corpus or shard size; choose another --out"
            )
        return info
    out.mkdir(parents=True, exist_ok=True)
    info = {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "modality": "text",
        "model_id": bundle.model_id,
        "model_path": str(bundle.path.resolve()),
        "feature_config": bundle.settings(),
        "dim": bundle.embedding_dim,
        "source": str(source.resolve()),
        "sentences": count,
        "shard_size": shard_size,
        "frames": False,
        "shards": [],
        "skipped": {},
        "count": 0,
        "complete": False,
    }
    write_json_atomic(out / INFO_FILE, info)  # the directory is seqae's from the start
    return info


def embed_corpus(
    run: Path,
    source: Path,
    out: Path,
    options: CorpusOptions | None = None,
    shard_size: int = 10000,
    batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
    bundle: TextModelBundle | None = None,
) -> tuple[EmbedSummary, list[str]]:
    """Embed every sentence of ``source`` with the text model in ``run``; finished shards are
    kept. Returns the summary (skipped lines included) and the repaired lines."""
    bundle = bundle or load_text_bundle(run)
    corpus = read_corpus(source, options)
    sentences = corpus.sentences
    with writer_lock(out):
        info = _prepare(out, bundle, source, len(sentences), shard_size)
        summary = EmbedSummary(out=out, model_id=bundle.model_id, skipped=corpus.skipped)
        _embed_shards(bundle, sentences, info, summary, batch_size, progress)
        _finish(info, corpus, summary)
    return summary, corpus.repaired


def _embed_shards(
    bundle: TextModelBundle,
    sentences: list[Sentence],
    info: dict,
    summary: EmbedSummary,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> None:
    out, shard_size = summary.out, info["shard_size"]
    columns = metadata_columns(sentences)
    started = time.perf_counter()
    for shard, first in enumerate(range(0, len(sentences), shard_size)):
        chunk = sentences[first : first + shard_size]
        if shard_is_intact(out, shard, info):
            summary.reused += len(chunk)
        else:
            info["complete"] = False
            vectors = bundle.embed([s.text for s in chunk], batch_size)
            table = sentence_table(chunk, columns, first)
            record_shard(info, shard, write_shard(out, shard, vectors, table))
            write_json_atomic(out / INFO_FILE, info)
            summary.embedded += len(vectors)
        if progress:
            progress(len(chunk))
    summary.seconds = time.perf_counter() - started


def _finish(info: dict, corpus: Corpus, summary: EmbedSummary) -> None:
    """Mark the directory complete, with the corpus's count and what was skipped."""
    info.update(count=len(corpus.sentences), complete=True, seconds=summary.seconds)
    info["skipped"] = {"lines": corpus.skipped, "repaired": corpus.repaired}
    write_json_atomic(summary.out / INFO_FILE, info)
