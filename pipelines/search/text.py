"""Answer an example sentence against an index directory of sentence vectors."""

from __future__ import annotations

from pathlib import Path

from index import Hit
from pipelines.search.build import open_index_with_model
from seqae.errors import SeqaeError
from seqae.text.bundle import TextModelBundle


def search_text(
    index_dir: Path, texts: list[str], k: int = 10, opened: tuple | None = None
) -> list[list[Hit]]:
    """Embed each sentence with the index's own model and return its top ``k`` hits.

    ``opened``: ``open_index_with_model(index_dir)``, if the caller has it already."""
    if not all(text.strip() for text in texts):
        raise SeqaeError("an empty query sentence; give some words to look for")
    index, bundle = opened or open_index_with_model(index_dir)
    if not isinstance(bundle, TextModelBundle):
        raise SeqaeError(
            f"{index_dir}: indexes audio (its model reads speech); search it with an audio clip, "
            "not --text"
        )
    return index.search(bundle.embed(texts), k)
