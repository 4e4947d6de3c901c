"""``seqae index ...``: build, grow and check FAISS indexes over embedding directories."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import cli_command, console, progress_bar, write_command_record

app = typer.Typer(help="Build, grow and check search indexes.", no_args_is_help=True)

FACTORY_HELP = (
    "'auto' chooses Flat, HNSW or IVF-PQ from the vector count, dimension and --memory; "
    "or a FAISS factory string such as Flat, HNSW32, IVF1024,PQ32, IVF4096,Flat."
)


def _describe(info) -> str:
    tuned = [f"{name} {value}" for name, value in (("nprobe", info.nprobe),
             ("efSearch", info.ef_search)) if value]  # fmt: skip
    recall = f", leave-one-out recall@10 {info.recall:.3f}" if info.recall is not None else ""
    return f"{info.factory}" + (f" ({', '.join(tuned)}{recall})" if tuned else "")


@app.command("build")
@cli_command
def build(
    embeddings: Annotated[Path, typer.Argument(help="Embedding directory of 'seqae embed'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index directory to write.")],
    factory: Annotated[str, typer.Option(help=FACTORY_HELP)] = "auto",
    memory: Annotated[
        str, typer.Option(help="Memory budget of the index for --factory auto (1GB, 512MiB).")
    ] = "4GB",
    seed: Annotated[int, typer.Option(help="Seed of the training and tuning samples.")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing index directory.")] = False,
) -> None:
    """Build a cosine-similarity index over EMBEDDINGS (exact for small archives)."""
    from pipelines.search.build import build_index_dir

    info = build_index_dir(embeddings, out, overwrite, factory, memory, seed, progress_bar)
    config = {"embeddings": str(embeddings), "factory": factory, "memory": memory, "seed": seed}
    write_command_record(out, {**config, "chosen_factory": info.factory})
    console.print(f"indexed {info.count} vectors with {_describe(info)} -> {out}", soft_wrap=True)


@app.command("add")
@cli_command
def add(
    index: Annotated[Path, typer.Argument(help="Index directory of 'seqae index build'.")],
    embeddings: Annotated[Path, typer.Argument(help="Embedding directory to append.")],
    seed: Annotated[int, typer.Option(help="Seed of the tuning sample.")] = 0,
) -> None:
    """Append the vectors of EMBEDDINGS (same model) to INDEX and re-tune its search."""
    from index.info import read_info
    from pipelines.search.update import add_index_dir

    record = {"argv": sys.argv, "config": {"embeddings": str(embeddings), "seed": seed}}
    before = read_info(index).count
    info = add_index_dir(index, embeddings, seed, progress_bar, record)
    console.print(
        f"added {info.count - before} vectors: {info.count} in all, {_describe(info)} -> {index}",
        soft_wrap=True,
    )


@app.command("check")
@cli_command
def check(
    index: Annotated[Path, typer.Argument(help="Index directory of 'seqae index build'.")],
    sample: Annotated[int, typer.Option(help="Stored vectors used as queries.", min=1)] = 1000,
    k: Annotated[int, typer.Option("-k", help="Neighbours compared per query.", min=1)] = 10,
    nprobe: Annotated[int | None, typer.Option(help="IVF lists to visit.", min=1)] = None,
    ef_search: Annotated[int | None, typer.Option(help="HNSW search depth.", min=1)] = None,
    seed: Annotated[int, typer.Option(help="Seed of the query sample.")] = 0,
) -> None:
    """Recall@k of INDEX against exact search, and its latency per query."""
    from pipelines.search.update import check_index_dir

    parameters = {"nprobe": nprobe, "ef_search": ef_search}
    report = check_index_dir(index, sample, k, seed, parameters)
    settings = ", ".join(f"{name} {value}" for name, value in report.parameters.items() if value)
    console.print(
        f"{report.factory}{f' ({settings})' if settings else ''}, {report.count} vectors: "
        f"recall@{report.k} {report.recall:.4f} against exact search over {report.queries} "
        f"stored vectors as queries (each leaving itself out; exact vectors from the "
        f"{report.exact_from}); {report.median_ms:.3f} ms median, {report.p95_ms:.3f} ms p95 "
        "per single query",
        soft_wrap=True,
    )
