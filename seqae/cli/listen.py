"""``seqae listen``: report enrolled terms as they are spoken in a live stream."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.choices import VadMethod, plain
from seqae.cli.common import cli_command, err_console


@cli_command
def listen(
    index: Annotated[
        Path,
        typer.Argument(help="Index of the enrolled terms' example clips (labels name the terms)."),
    ],
    stream: Annotated[
        str,
        typer.Option(
            "--input", "-i", help="'-': raw 16-bit mono PCM on stdin; else an audio file."
        ),
    ] = "-",
    term: Annotated[
        list[str] | None,
        typer.Option(help="More example clips, as LABEL=CLIP or CLIP (label: its name)."),
    ] = None,
    rate: Annotated[int, typer.Option(help="stdin: sample rate of the PCM.", min=8000)] = 16000,
    threshold: Annotated[
        float, typer.Option(help="Cosine similarity a segment needs to count as a term.")
    ] = 0.6,
    real_time: Annotated[
        bool, typer.Option(help="A file is played at real speed (else as fast as it decodes).")
    ] = True,
    vad: Annotated[VadMethod, typer.Option(help="The voice-activity detector.")] = VadMethod[
        "webrtc"
    ],
    json_lines: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Listen to a stream (a pipe from arecord or ffmpeg, or a file at real speed) and print
    each spoken term of INDEX as soon as the pause after it is heard."""
    import json
    import sys

    from pipelines.search.build import open_index_with_model
    from pipelines.search.listen import TermSet, detect, enroll, file_blocks, pcm_blocks, resampled
    from pipelines.segment.longform import SegmentSettings
    from seqae.errors import InputError

    opened, bundle = open_index_with_model(index)
    extra = [_term(spec) for spec in term or []]
    terms = TermSet(opened, enroll(bundle, extra))
    model_rate = bundle.features.sample_rate
    if stream == "-":
        blocks = resampled(pcm_blocks(sys.stdin.buffer, rate), rate, model_rate)
        source = f"stdin ({rate} Hz PCM)"
    else:
        if not Path(stream).is_file():
            raise InputError(f"{stream}: no such file")
        blocks, source = file_blocks(Path(stream), model_rate, real_time), stream
    err_console.print(f"listening to {source} for the terms of {index} (Ctrl-C stops)")
    settings = SegmentSettings(mode="vad", vad=plain(vad))
    try:
        for found in detect(blocks, bundle, terms, threshold, settings):
            if json_lines:
                row = {key: round(v, 3) if isinstance(v, float) else v
                       for key, v in vars(found).items()}  # fmt: skip
                print(json.dumps(row), flush=True)
            else:
                print(
                    f"{found.start:9.2f}-{found.end:.2f} s  {found.label}  score {found.score:.3f}"
                    f"  (latency {found.latency:.2f} s)",
                    flush=True,
                )
    except KeyboardInterrupt:
        err_console.print("stopped")


def _term(spec: str) -> tuple[str, Path]:
    label, _, clip = spec.rpartition("=")
    path = Path(clip)
    return (label or path.stem), path
