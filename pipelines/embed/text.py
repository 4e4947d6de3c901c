"""Embed every sentence of a corpus into sharded ``.npy`` + ``.parquet`` files (resumable).

The layout is the audio one (see pipelines.embed.shards), without frames; each metadata row holds
the sentence's text, its file and line, and the input's other columns.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from pipelines.embed.runner import Chunk, EmbedSummary, Inputs, embed_shards, finish, prepare
from pipelines.io.corpus import CorpusOptions, Sentence, read_corpus
from pipelines.io.manifest import metadata_columns
from seqae.runs import writer_lock
from seqae.text.bundle import TextModelBundle, load_text_bundle


def sentence_table(sentences: list[Sentence], columns: list[str], first_row: int) -> pa.Table:
    """Metadata rows: text, every metadata column (as strings), and the row number."""
    data = {"text": pa.array([s.text for s in sentences], pa.string())}
    for column in columns:
        data[column] = pa.array([s.metadata.get(column, "") for s in sentences], pa.string())
    data["row"] = pa.array(range(first_row, first_row + len(sentences)), pa.int64())
    return pa.table(data)


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
    columns = metadata_columns(sentences)

    def read(first: int, size: int, progress: Callable[[int], None] | None) -> Chunk:
        chunk = sentences[first : first + size]
        return Chunk(inputs=[s.text for s in chunk], table=sentence_table(chunk, columns, first))

    inputs = Inputs(source, "corpus", len(sentences), "sentences", shard_size,
                    {"modality": "text", "frames": False})  # fmt: skip
    with writer_lock(out):
        info = prepare(out, bundle, inputs)
        summary = embed_shards(out, info, bundle, read, len(sentences), batch_size, progress)
        skips = {"lines": corpus.skipped, "repaired": corpus.repaired}
        finish(out, info, summary, len(sentences), read_skips=skips)
    summary.skipped = corpus.skipped
    return summary, corpus.repaired
