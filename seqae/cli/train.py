"""``seqae train``: fit an autoencoder on a manifest's segments (labels are not used)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import (
    cli_command,
    console,
    progress_bar,
    report_skipped,
    write_command_record,
)
from seqae.config import FeatureConfig as F
from seqae.config import ModelConfig as M
from seqae.config import TrainConfig as T
from seqae.text.config import TextModelConfig as TM
from seqae.text.config import TextTrainConfig as TT
from seqae.text.config import TokenizerConfig as TK

TEXT = "Sentence autoencoders (--modality text)"
TRIM_DB = 25.0


@cli_command
def train(
    ctx: typer.Context,
    manifest: Annotated[
        Path,
        typer.Argument(
            help="Manifest CSV or folder of audio files; with --modality text, a text file "
            "(one sentence per line), a folder of them, or a CSV/JSONL with a text column."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory to write.")],
    modality: Annotated[
        str, typer.Option(help="audio (speech segments) or text (sentences).")
    ] = "audio",
    epochs: Annotated[int, typer.Option(help="Maximum number of epochs.", min=1)] = T.epochs,
    cell: Annotated[
        str,
        typer.Option(
            help="Encoder: rnn, irnn (ReLU RNN, identity init), lstm, gru, pyramidal (GRU "
            "halving the time resolution per layer) or clockwork (modules at periods 1, 2, 4...)."
        ),
    ] = M.cell,
    hidden: Annotated[int, typer.Option(help="Encoder hidden size.", min=1)] = M.hidden_size,
    layers: Annotated[int, typer.Option(help="Encoder layers.", min=1)] = M.layers,
    bidirectional: Annotated[bool, typer.Option(help="Bidirectional encoder.")] = M.bidirectional,
    dim: Annotated[int, typer.Option(help="Embedding size.", min=1)] = M.embedding_dim,
    decoder_hidden: Annotated[
        int, typer.Option(help="Decoder hidden size.", min=1)
    ] = M.decoder_hidden_size,
    dropout: Annotated[float, typer.Option(help="Dropout between encoder layers.")] = M.dropout,
    reverse_target: Annotated[
        bool, typer.Option(help="Reconstruct the input reversed.")
    ] = M.reverse_target,
    frame_stack: Annotated[
        int, typer.Option(help="Neighbouring frames the encoder reads as one step.", min=1)
    ] = M.frame_stack,
    clockwork_modules: Annotated[
        int, typer.Option(help="clockwork: modules per layer (periods 1, 2, 4, ...).", min=1)
    ] = M.clockwork_modules,
    decoder_cell: Annotated[
        str,
        typer.Option(help="Decoder cell: rnn, lstm or gru (default: the encoder's, or gru)."),
    ] = M.decoder_cell,
    teacher_forcing: Annotated[
        bool, typer.Option(help="Decoder also reads the previous target frame.")
    ] = M.teacher_forcing,
    sampling: Annotated[
        float,
        typer.Option(
            help="Scheduled sampling (with --teacher-forcing or --feed-tokens): chance of "
            "feeding the decoder its own prediction, ramped from 0 to this by the end of "
            "training.",
            min=0.0,
            max=1.0,
        ),
    ] = M.sampling,
    segment: Annotated[
        str,
        typer.Option(
            help="For a folder of long recordings: train on the speech regions 'seqae ingest' "
            "cuts from them, vad (voice activity) or windows (dense windows); none: every "
            "manifest row or file is one segment."
        ),
    ] = "none",
    vad: Annotated[str, typer.Option(help="--segment vad: webrtc, silero or energy.")] = "webrtc",
    features: Annotated[str, typer.Option(help="Frame features: mfcc or logmel.")] = "mfcc",
    trim: Annotated[
        bool,
        typer.Option(
            help="Trim each segment's leading and trailing non-speech (--no-trim keeps clips "
            "as they are)."
        ),
    ] = True,
    trim_db: Annotated[
        float,
        typer.Option(
            help="What trimming takes for non-speech: frames more than this many dB under the "
            "segment's loudest, or close to its background.",
            min=0.1,
        ),
    ] = TRIM_DB,
    normalize: Annotated[
        str,
        typer.Option(
            help="Mean-variance normalisation of the frames: utterance (each segment), "
            "speaker (over each speaker's segments when the manifest has a speaker column, "
            "each recording's for long recordings, else each segment) or none."
        ),
    ] = F.normalize,
    fmax: Annotated[
        float,
        typer.Option(
            help="Top of the mel filterbank in Hz (0: half the sample rate); 4000 reads "
            "telephone and wideband audio alike.",
            min=0.0,
        ),
    ] = F.fmax,
    batch_size: Annotated[int, typer.Option(help="Segments per batch.", min=1)] = T.batch_size,
    lr: Annotated[
        float | None,
        typer.Option(
            help="Peak learning rate (AdamW, cosine decay); default: the encoder's own "
            "(0.004 for gru, lstm and pyramidal, lower for the plain and clockwork RNNs).",
            min=0.0,
            show_default=False,
        ),
    ] = None,
    clip: Annotated[float, typer.Option(help="Gradient norm clipping.")] = T.gradient_clip,
    val_fraction: Annotated[
        float, typer.Option(help="Share held out for validation.")
    ] = T.val_fraction,
    patience: Annotated[int, typer.Option(help="Early-stopping patience in epochs.")] = T.patience,
    objective: Annotated[
        str,
        typer.Option(
            help="ae (rebuild the input), dae (rebuild it from a perturbed copy), cae (rebuild "
            "another instance of the same word), siamese (triplet loss on word pairs), "
            "contrastive (tell each segment's pair, or perturbed copy, from the batch's others)."
        ),
    ] = T.objective,
    pairs: Annotated[
        str,
        typer.Option(
            help="cae/siamese pairs: discover (unsupervised, no labels) or labels (the "
            "manifest's label column)."
        ),
    ] = T.pairs,
    pretrain_epochs: Annotated[
        int, typer.Option(help="cae/siamese: epochs of denoising pretraining.", min=1)
    ] = T.pretrain_epochs,
    pair_neighbours: Annotated[
        int, typer.Option(help="discover: candidate neighbours per segment.", min=1)
    ] = T.pair_neighbours,
    pair_keep: Annotated[
        float, typer.Option(help="discover: share of candidates kept (lowest DTW cost).")
    ] = T.pair_keep,
    pair_threshold: Annotated[
        float, typer.Option(help="discover: keep pairs under this DTW cost instead (if > 0).")
    ] = T.pair_threshold,
    margin: Annotated[float, typer.Option(help="siamese: triplet margin.")] = T.margin,
    temperature: Annotated[
        float, typer.Option(help="contrastive: softmax temperature.", min=0.0)
    ] = T.temperature,
    pair_unpaired: Annotated[
        bool,
        typer.Option(
            help="cae/siamese: segments without a pair train too, each as its own pair (cae: "
            "rebuilt from a perturbed copy)."
        ),
    ] = T.pair_unpaired,
    pair_across: Annotated[
        str,
        typer.Option(
            help="discover: pairs join different speakers (the manifest's speaker column, "
            "else different files) with 'speaker', or any two segments with 'any'."
        ),
    ] = T.pair_across,
    warp: Annotated[
        float, typer.Option(help="dae: vocal-tract warp of the mel axis, up to this share.")
    ] = T.augment_warp,
    tempo: Annotated[
        float, typer.Option(help="dae: speaking-rate change, up to this share.")
    ] = T.augment_tempo,
    gain_db: Annotated[float, typer.Option(help="dae: level change, up to this many dB.")] = (
        T.augment_gain_db
    ),
    noise_db: Annotated[
        float, typer.Option(help="dae: noise added to each log-mel value (std, dB).")
    ] = T.augment_noise_db,
    reverb: Annotated[
        float, typer.Option(help="dae: chance of a simulated reverberant room.", min=0, max=1)
    ] = T.augment_reverb,
    band_limit: Annotated[
        float,
        typer.Option(help="dae: chance of a narrow channel (top bands cut).", min=0, max=1),
    ] = T.augment_band_limit,
    frame_drop: Annotated[
        float, typer.Option(help="dae: share of input frames zeroed.")
    ] = T.augment_frame_drop,
    dim_drop: Annotated[
        float, typer.Option(help="dae: share of feature dimensions zeroed.")
    ] = T.augment_dim_drop,
    time_mask: Annotated[
        float, typer.Option(help="dae: longest zeroed time band, as a share of the frames.")
    ] = T.augment_time_mask,
    dim_mask: Annotated[
        int, typer.Option(help="dae: widest zeroed band of feature dimensions.")
    ] = T.augment_dim_mask,
    seed: Annotated[int, typer.Option(help="Random seed.")] = T.seed,
    resume: Annotated[bool, typer.Option(help="Continue from RUN/checkpoints/last.ckpt.")] = True,
    devices: Annotated[
        int, typer.Option(help="Training processes on this machine (data-parallel if > 1).", min=1)
    ] = T.devices,
    num_nodes: Annotated[
        int, typer.Option(help="Machines training together, each running this command.", min=1)
    ] = T.num_nodes,
    strategy: Annotated[
        str, typer.Option(help="Lightning strategy when more than one process trains.")
    ] = T.strategy,
    tokens: Annotated[
        str, typer.Option(help="char, word or bpe (sentencepiece).", rich_help_panel=TEXT)
    ] = TK.kind,
    vocab_size: Annotated[
        int, typer.Option(help="Largest vocabulary.", min=8, rich_help_panel=TEXT)
    ] = TK.vocab_size,
    min_count: Annotated[
        int, typer.Option(help="char, word: rarer tokens are unknown.", rich_help_panel=TEXT)
    ] = TK.min_count,
    lowercase: Annotated[bool, typer.Option(help="Lowercase text.", rich_help_panel=TEXT)] = False,
    text_column: Annotated[
        str, typer.Option(help="CSV column / JSONL field of the text.", rich_help_panel=TEXT)
    ] = "text",
    max_words: Annotated[
        int, typer.Option(help="Longer lines are split.", min=1, rich_help_panel=TEXT)
    ] = 60,
    token_dim: Annotated[
        int, typer.Option(help="Token embedding size.", min=1, rich_help_panel=TEXT)
    ] = TM.token_dim,
    word_dropout: Annotated[
        float,
        typer.Option(
            help="With --feed-tokens: decoder inputs replaced by <unk>.", rich_help_panel=TEXT
        ),
    ] = TM.word_dropout,
    variational: Annotated[
        bool, typer.Option(help="Variational bottleneck (KL term).", rich_help_panel=TEXT)
    ] = TM.variational,
    kl_anneal_steps: Annotated[
        int, typer.Option(help="Steps of KL weight 0 -> 1.", min=0, rich_help_panel=TEXT)
    ] = TT.kl_anneal_steps,
    noise_drop: Annotated[
        float, typer.Option(help="Denoising: input tokens dropped.", rich_help_panel=TEXT)
    ] = TT.noise_drop,
    noise_swap: Annotated[
        float, typer.Option(help="Denoising: neighbours swapped.", rich_help_panel=TEXT)
    ] = TT.noise_swap,
    max_tokens: Annotated[
        int, typer.Option(help="Training cuts sentences to this.", min=1, rich_help_panel=TEXT)
    ] = TT.max_tokens,
    max_minutes: Annotated[
        float, typer.Option(help="Stop training after this (0: off).", rich_help_panel=TEXT)
    ] = TT.max_minutes,
    threads: Annotated[
        int, typer.Option(help="CPU threads of the training process (0: torch's choice).", min=0)
    ] = T.threads,
    loader_workers: Annotated[
        int,
        typer.Option(help="Processes that prepare batches beside training (0: none).", min=0),
    ] = T.loader_workers,
    softmax: Annotated[
        str,
        typer.Option(
            help="full, adaptive (cheaper), or tied (token vectors = embeddings).",
            rich_help_panel=TEXT,
        ),
    ] = TM.softmax,
    train_vocab: Annotated[
        int,
        typer.Option(
            help="tied: score only this many common tokens and the batch's in training "
            "(0: all; cheaper but less accurate).",
            min=0,
            rich_help_panel=TEXT,
        ),
    ] = TM.train_vocab,
    length_dim: Annotated[
        int,
        typer.Option(help="Decoder reads tokens left (0: off).", min=0, rich_help_panel=TEXT),
    ] = TM.length_dim,
    position_dim: Annotated[
        int,
        typer.Option(help="Decoder reads its step index (0: off).", min=0, rich_help_panel=TEXT),
    ] = TM.position_dim,
    feed_tokens: Annotated[
        bool,
        typer.Option(
            help="Decoder also reads the previous token (off: only the vector).",
            rich_help_panel=TEXT,
        ),
    ] = TM.feed_tokens,
    decoder_bidirectional: Annotated[
        bool | None,
        typer.Option(
            help="Decoder runs both ways over the length it predicts, writing every token at "
            "once [default: on, off with --feed-tokens].",
            show_default=False,
            rich_help_panel=TEXT,
        ),
    ] = TM.decoder_bidirectional,
    length_pull: Annotated[
        float,
        typer.Option(
            help="Share of the length head's gradient that reaches the sentence vector.",
            min=0.0,
            max=1.0,
            rich_help_panel=TEXT,
        ),
    ] = TM.length_pull,
) -> None:
    """Train a sequence autoencoder on the segments of MANIFEST (labels used only by
    --pairs labels), or with --modality text a sentence autoencoder on a text corpus (the
    shared model and training options then default to the text model's own settings)."""
    import json
    from contextlib import nullcontext

    from seqae.cli.text import check_modality_options, train_text

    sources = {name: ctx.get_parameter_source(name) for name in ctx.params}
    given = {name for name, source in sources.items() if source and source.name != "DEFAULT"}
    if modality == "text":
        return train_text(ctx.params, given)
    check_modality_options(modality, given)

    from pipelines.ingest import find_audio
    from pipelines.manifest import read_manifest
    from pipelines.train_job import TrainJob, is_main_process, train_model
    from seqae.config import FeatureConfig, ModelConfig, TrainConfig
    from seqae.models import default_learning_rate

    feature_config = FeatureConfig(
        kind=features, normalize=normalize, trim_db=trim_db if trim else 0.0, fmax=fmax
    )
    model = ModelConfig(
        input_dim=feature_config.dim,
        cell=cell,
        hidden_size=hidden,
        layers=layers,
        bidirectional=bidirectional,
        embedding_dim=dim,
        decoder_hidden_size=decoder_hidden,
        dropout=dropout,
        reverse_target=reverse_target,
        frame_stack=frame_stack,
        clockwork_modules=clockwork_modules,
        decoder_cell=decoder_cell,
        teacher_forcing=teacher_forcing,
        sampling=sampling,
    )
    settings = TrainConfig(
        objective=objective,
        pairs=pairs,
        pretrain_epochs=pretrain_epochs,
        pair_neighbours=pair_neighbours,
        pair_keep=pair_keep,
        pair_threshold=pair_threshold,
        margin=margin,
        temperature=temperature,
        pair_across=pair_across,
        pair_unpaired=pair_unpaired,
        augment_warp=warp,
        augment_tempo=tempo,
        augment_gain_db=gain_db,
        augment_noise_db=noise_db,
        augment_reverb=reverb,
        augment_band_limit=band_limit,
        augment_frame_drop=frame_drop,
        augment_dim_drop=dim_drop,
        augment_time_mask=time_mask,
        augment_dim_mask=dim_mask,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=lr if lr is not None else default_learning_rate(cell),
        gradient_clip=clip,
        val_fraction=val_fraction,
        patience=patience,
        seed=seed,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        threads=threads,
        loader_workers=loader_workers,
    )
    cut = long_recording_settings(manifest, segment, vad)
    job = TrainJob(manifest, out, feature_config, model, settings, resume=resume, segments=cut)
    main = is_main_process()  # the extra processes of a parallel run train, and say nothing
    total = len(find_audio(manifest)) if cut else len(read_manifest(manifest))
    label = "segmenting recordings" if cut else "features"
    with progress_bar(label, total) if main else nullcontext(lambda n=1: None) as advance:
        data, result = train_model(job, advance, bars=main)
    if not main:
        return
    write_command_record(
        out,
        {
            "features": job.features.to_dict(),
            "model": job.model.to_dict(),
            "train": job.train.to_dict(),
        },
    )
    report_skipped(data.skipped)
    pairs_file = out / "pairs.json"
    if settings.paired and pairs_file.is_file():
        report = json.loads(pairs_file.read_text())
        purity = f", purity {report['purity']:.2f}" if report.get("purity") is not None else ""
        console.print(
            f"pairs ({report['source']}): {report['pairs']} covering "
            f"{report['segments_paired']} segments{purity} -> {out / 'pairs.csv'}"
        )
    loss = f"{result.best_val_loss:.4f}" if result.best_val_loss is not None else "n/a"
    stages = (
        f"pretrained for {settings.pretrain_epochs} epochs, then {settings.objective} on "
        f"{result.train_segments} paired segments"
        if settings.paired
        else f"trained on {result.train_segments} segments"
    )
    console.print(
        f"{stages} ({result.val_segments} validation, {len(data.skipped)} skipped) for "
        f"{result.epochs} epochs; {result.seconds:.0f} s in all; best validation loss {loss}; "
        f"model {result.model_id} -> {result.bundle}"
    )


def long_recording_settings(source: Path, segment: str, vad: str):
    """How ``--segment`` cuts the recordings of the folder ``source`` (None: it does not)."""
    from pipelines.longform import SEGMENT_MODES, SegmentSettings
    from pipelines.vad import VAD_METHODS
    from seqae.errors import SeqaeError

    if segment == "none":
        return None
    if segment not in SEGMENT_MODES:
        raise SeqaeError(f"--segment must be none, {' or '.join(SEGMENT_MODES)}, not {segment!r}")
    if vad not in VAD_METHODS:
        raise SeqaeError(f"--vad must be one of {', '.join(VAD_METHODS)}, not {vad!r}")
    if not source.is_dir():
        raise SeqaeError(f"{source}: --segment {segment} cuts the recordings of a folder")
    return SegmentSettings(mode=segment, vad=vad)
