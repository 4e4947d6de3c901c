"""The choices of the command line as Enums, so a typo is refused with the list of choices.

Each is made from the tuple of names the library itself checks against, so the two cannot
drift apart.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from pipelines.export.hits import FORMATS as EXPORT_FORMATS
from pipelines.search import FUSIONS
from seqae.config import (
    ACCELERATORS,
    CELLS,
    DECODER_CELLS,
    FEATURE_KINDS,
    NORMALIZATIONS,
    OBJECTIVES,
    PAIR_ACROSS,
    PAIR_SOURCES,
)
from seqae.settings import MODALITIES, recipe_names
from seqae.text.config import SOFTMAXES, TOKEN_KINDS


def choice(name: str, values: tuple[str, ...] | list[str]) -> type[Enum]:
    """A str Enum whose members are ``values`` (Typer shows and checks them)."""
    return Enum(name, [(value, value) for value in values], type=str)  # type: ignore[return-value]


Modality = choice("Modality", MODALITIES)
Cell = choice("Cell", CELLS)
DecoderCell = choice("DecoderCell", ("auto", *DECODER_CELLS))  # auto: the encoder's, or gru
FeatureKind = choice("FeatureKind", FEATURE_KINDS)
Normalize = choice("Normalize", NORMALIZATIONS)
Objective = choice("Objective", OBJECTIVES)
PairSource = choice("PairSource", PAIR_SOURCES)
PairAcross = choice("PairAcross", PAIR_ACROSS)
Accelerator = choice("Accelerator", ACCELERATORS)
TokenKind = choice("TokenKind", TOKEN_KINDS)
Softmax = choice("Softmax", SOFTMAXES)
Recipe = choice("Recipe", recipe_names())
SegmentMode = choice("SegmentMode", ("none", "vad", "windows"))  # pipelines.segment's modes
VadMethod = choice("VadMethod", ("webrtc", "silero", "energy"))  # pipelines.segment.vad's
Projection = choice("Projection", ("pca", "tsne", "umap"))  # pipelines.viz.maps's
Engine = choice("Engine", ("local", "ray"))
Rerank = choice("Rerank", ("dtw", "none"))
Fusion = choice("Fusion", FUSIONS)
ExportFormat = choice("ExportFormat", EXPORT_FORMATS)
Tier = choice("Tier", ("eaf", "textgrid"))  # pipelines.discover.archive's TIER_FORMATS


def plain(value: object) -> object:
    """An Enum member's value; anything else as it is."""
    return value.value if isinstance(value, Enum) else value


# options several search commands share
RerankOption = Annotated[
    Rerank, typer.Option(help="Second stage: 'dtw' re-orders the top candidates, 'none' not.")
]
RerankDepthOption = Annotated[
    int, typer.Option(help="Candidates the index proposes for re-ranking.", min=1)
]
FusionOption = Annotated[
    Fusion,
    typer.Option(
        help="Several clips of a term: 'mean' searches with the mean of their unit vectors, "
        "'max' scores each segment by its best match to any clip."
    ),
]
