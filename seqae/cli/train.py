"""``seqae train``: fit a speech (or sentence) autoencoder, from options, a recipe or a file.

Every option is one row of SETTINGS: its type, help and panel, and the config field it sets
for each modality. The command turns the options given into a layer of settings, and
``seqae.settings.resolve`` lays it over the defaults, the recipe and the config file.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from seqae.cli import choices as C
from seqae.cli.common import (
    cli_command,
    console,
    err_console,
    progress_bar,
    report_corpus,
    report_skipped,
    write_command_record,
)
from seqae.settings import TRAINING_DEFAULTS, sections

MODEL, OBJECTIVE, AUGMENT = "Model", "Objective and pairs", "Augmentation (denoising inputs)"
INPUT, TRAINING, TEXT = "Features", "Training", "Sentence autoencoders (--modality text)"


@dataclass(frozen=True)
class Setting:
    """One option: what it sets for speech (``audio``) and text (``text``) models."""

    name: str
    kind: type
    help: str
    panel: str
    audio: str = ""  # "section.field"; "" for none
    text: str = ""
    minimum: float | None = None
    maximum: float | None = None

    def target(self, modality: str) -> str:
        return self.audio if modality == "audio" else self.text

    def default(self) -> Any:
        """The default shown in the help: the audio model's, else the text model's."""
        modality = "audio" if self.audio else "text"
        section, field = self.target(modality).split(".")
        layered = TRAINING_DEFAULTS[modality].get(section, {})
        if field in layered:
            return layered[field]
        value = next(f.default for f in fields(sections(modality)[section]) if f.name == field)
        return self.kind(value or "auto") if issubclass(self.kind, Enum) else value


def _both(
    name: str, kind: type, help: str, panel: str, field: str, minimum=None, maximum=None
) -> Setting:
    return Setting(name, kind, help, panel, field, field, minimum, maximum)


SETTINGS = [
    _both("cell", C.Cell, "Encoder: rnn, irnn (ReLU RNN, identity init), lstm, gru, pyramidal (GRU halving the time resolution per layer) or clockwork (modules at periods 1, 2, 4...).", MODEL, "model.cell"),
    _both("hidden", int, "Encoder hidden size.", MODEL, "model.hidden_size", 1),
    _both("layers", int, "Encoder layers.", MODEL, "model.layers", 1),
    _both("bidirectional", bool, "Bidirectional encoder.", MODEL, "model.bidirectional"),
    _both("dim", int, "Embedding size.", MODEL, "model.embedding_dim", 1),
    _both("decoder_hidden", int, "Decoder hidden size.", MODEL, "model.decoder_hidden_size", 1),
    _both("decoder_cell", C.DecoderCell, "Decoder cell (auto: the encoder's, or gru).", MODEL, "model.decoder_cell"),
    _both("dropout", float, "Dropout between encoder layers.", MODEL, "model.dropout", minimum=0, maximum=1),
    _both("clockwork_modules", int, "clockwork: modules per layer (periods 1, 2, 4, ...).", MODEL, "model.clockwork_modules", minimum=1),
    Setting("reverse_target", bool, "Reconstruct the input reversed.", MODEL, "model.reverse_target"),
    Setting("frame_stack", int, "Neighbouring frames the encoder reads as one step.", MODEL, "model.frame_stack", minimum=1),
    Setting("teacher_forcing", bool, "Decoder also reads the previous target frame.", MODEL, "model.teacher_forcing"),
    Setting("sampling", float, "Scheduled sampling (with --teacher-forcing or --feed-tokens): chance of feeding the decoder its own prediction, ramped from 0 to this by the end of training.", MODEL, "model.sampling", "train.sampling", 0, 1),
    Setting("features", C.FeatureKind, "Frame features.", INPUT, "features.kind"),
    Setting("trim_db", float, "Trimming: frames more than this many dB under the segment's loudest, or close to its background, are non-speech.", INPUT, "features.trim_db", minimum=0.1),
    Setting("normalize", C.Normalize, "Mean-variance normalisation of the frames: utterance (each segment), speaker (each speaker's segments when the manifest has a speaker column, each recording's for long recordings, else each segment) or none.", INPUT, "features.normalize"),
    Setting("fmax", float, "Top of the mel filterbank in Hz (0: half the sample rate); 4000 reads telephone and wideband audio alike.", INPUT, "features.fmax", minimum=0),
    Setting("objective", C.Objective, "ae (rebuild the input), dae (rebuild it from a perturbed copy), cae (rebuild another instance of the same word), siamese (triplet loss on word pairs), contrastive (tell each segment's pair, or perturbed copy, from the batch's others).", OBJECTIVE, "train.objective"),
    Setting("pairs", C.PairSource, "cae, siamese, contrastive: pairs discovered (no labels) or from the manifest's label column.", OBJECTIVE, "train.pairs"),
    Setting("pretrain_epochs", int, "Paired objectives: epochs of denoising pretraining.", OBJECTIVE, "train.pretrain_epochs", minimum=1),
    Setting("pair_neighbours", int, "discover: candidate neighbours per segment.", OBJECTIVE, "train.pair_neighbours", minimum=1),
    Setting("pair_keep", float, "discover: share of candidates kept (lowest DTW cost).", OBJECTIVE, "train.pair_keep", minimum=0, maximum=1),
    Setting("pair_threshold", float, "discover: keep pairs under this DTW cost instead (if > 0).", OBJECTIVE, "train.pair_threshold", minimum=0),
    Setting("pair_across", C.PairAcross, "discover: pairs join different speakers (the manifest's speaker column, else different files), or any two segments.", OBJECTIVE, "train.pair_across"),
    Setting("pair_unpaired", bool, "Segments without a pair train too, each as its own pair (cae: rebuilt from a perturbed copy).", OBJECTIVE, "train.pair_unpaired"),
    Setting("margin", float, "siamese: triplet margin.", OBJECTIVE, "train.margin"),
    Setting("temperature", float, "contrastive: softmax temperature.", OBJECTIVE, "train.temperature", minimum=0),
    Setting("warp", float, "Vocal-tract warp of the mel axis, up to this share.", AUGMENT, "train.augment_warp", minimum=0),
    Setting("tempo", float, "Speaking-rate change, up to this share.", AUGMENT, "train.augment_tempo", minimum=0),
    Setting("gain_db", float, "Level change, up to this many dB.", AUGMENT, "train.augment_gain_db", minimum=0),
    Setting("noise_db", float, "Noise added to each log-mel value (std, dB).", AUGMENT, "train.augment_noise_db", minimum=0),
    Setting("reverb", float, "Chance of a simulated reverberant room.", AUGMENT, "train.augment_reverb", minimum=0, maximum=1),
    Setting("band_limit", float, "Chance of a narrow channel (top bands cut).", AUGMENT, "train.augment_band_limit", minimum=0, maximum=1),
    Setting("frame_drop", float, "Share of input frames zeroed.", AUGMENT, "train.augment_frame_drop", minimum=0, maximum=1),
    Setting("dim_drop", float, "Share of feature dimensions zeroed.", AUGMENT, "train.augment_dim_drop", minimum=0, maximum=1),
    Setting("time_mask", float, "Longest zeroed time band, as a share of the frames.", AUGMENT, "train.augment_time_mask", minimum=0, maximum=1),
    Setting("dim_mask", int, "Widest zeroed band of feature dimensions.", AUGMENT, "train.augment_dim_mask", minimum=0),
    _both("epochs", int, "Maximum number of epochs.", TRAINING, "train.epochs", 1),
    _both("batch_size", int, "Segments (or sentences) per batch.", TRAINING, "train.batch_size", 1),
    _both("clip", float, "Gradient norm clipping.", TRAINING, "train.gradient_clip", minimum=0),
    _both("val_fraction", float, "Share held out for validation.", TRAINING, "train.val_fraction", 0, 1),
    _both("patience", int, "Early-stopping patience in epochs.", TRAINING, "train.patience", 1),
    _both("seed", int, "Random seed.", TRAINING, "train.seed"),
    _both("threads", int, "CPU threads of the training process (0: torch's choice).", TRAINING, "train.threads", minimum=0),
    _both("accelerator", C.Accelerator, "Where to train: auto takes a GPU if there is one.", TRAINING, "train.accelerator"),
    Setting("loader_workers", int, "Processes that prepare batches beside training (0: none).", TRAINING, "train.loader_workers", minimum=0),
    Setting("devices", int, "Training processes on this machine (data-parallel if > 1).", TRAINING, "train.devices", minimum=1),
    Setting("num_nodes", int, "Machines training together, each running this command.", TRAINING, "train.num_nodes", minimum=1),
    Setting("strategy", str, "Lightning strategy when more than one process trains.", TRAINING, "train.strategy"),
    Setting("tokens", C.TokenKind, "Tokens: characters, words or BPE pieces (sentencepiece).", TEXT, text="tokens.kind"),
    Setting("vocab_size", int, "Largest vocabulary.", TEXT, text="tokens.vocab_size", minimum=8),
    Setting("min_count", int, "char, word: rarer tokens are unknown.", TEXT, text="tokens.min_count", minimum=1),
    Setting("lowercase", bool, "Lowercase text.", TEXT, text="tokens.lowercase"),
    Setting("text_column", str, "CSV column / JSONL field of the text.", TEXT, text="corpus.text_column"),
    Setting("max_words", int, "Longer lines are split.", TEXT, text="corpus.max_words", minimum=1),
    Setting("token_dim", int, "Token embedding size.", TEXT, text="model.token_dim", minimum=1),
    Setting("word_dropout", float, "With --feed-tokens: decoder inputs replaced by <unk>.", TEXT, text="model.word_dropout", minimum=0, maximum=1),
    Setting("variational", bool, "Variational bottleneck (KL term).", TEXT, text="model.variational"),
    Setting("softmax", C.Softmax, "Output layer: full, adaptive (cheaper), or tied (token vectors = embeddings).", TEXT, text="model.softmax"),
    Setting("train_vocab", int, "tied: score only this many common tokens and the batch's in training (0: all; cheaper but less accurate).", TEXT, text="model.train_vocab", minimum=0),
    Setting("length_dim", int, "Decoder reads tokens left (0: off).", TEXT, text="model.length_dim", minimum=0),
    Setting("position_dim", int, "Decoder reads its step index (0: off).", TEXT, text="model.position_dim", minimum=0),
    Setting("feed_tokens", bool, "Decoder also reads the previous token (off: only the vector).", TEXT, text="model.feed_tokens"),
    Setting("decoder_bidirectional", bool, "Decoder runs both ways over the length it predicts, writing every token at once (default: on, off with --feed-tokens).", TEXT, text="model.decoder_bidirectional"),
    Setting("length_pull", float, "Share of the length head's gradient that reaches the sentence vector.", TEXT, text="model.length_pull", minimum=0, maximum=1),
    Setting("kl_anneal_steps", int, "Steps of KL weight 0 -> 1.", TEXT, text="train.kl_anneal_steps", minimum=0),
    Setting("noise_drop", float, "Denoising: input tokens dropped.", TEXT, text="train.noise_drop", minimum=0, maximum=1),
    Setting("noise_swap", float, "Denoising: neighbours swapped.", TEXT, text="train.noise_swap", minimum=0, maximum=1),
    Setting("max_tokens", int, "Training cuts sentences to this.", TEXT, text="train.max_tokens", minimum=1),
    Setting("max_minutes", float, "Stop training after this (0: off).", TEXT, text="train.max_minutes", minimum=0),
]  # fmt: skip
BY_NAME = {setting.name: setting for setting in SETTINGS}
SPEECH_ONLY = ("trim", "segment", "vad")  # train's own options that only speech models read


def options_layer(
    modality: str, values: dict[str, Any], given: set[str]
) -> dict[str, dict[str, Any]]:
    """The settings layer of the options given (``values``, of SETTINGS' rows); an option of
    the other modality among ``given`` is refused in one line."""
    from seqae.errors import SeqaeError

    wrong = sorted(name for name in values if not BY_NAME[name].target(modality))
    wrong += sorted(set(SPEECH_ONLY) & given) if modality == "text" else []
    if wrong:
        names = ", ".join("--" + name.replace("_", "-") for name in wrong)
        other = "text" if modality == "audio" else "audio"
        raise SeqaeError(f"{names}: for {other} models only (this is --modality {modality})")
    layer: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        section, field = BY_NAME[name].target(modality).split(".")
        value = C.plain(value)
        if name == "decoder_cell" and value == "auto":
            if modality == "text":
                continue  # the text model's own default
            value = ""
        layer.setdefault(section, {})[field] = value
    return layer


def train(
    ctx: typer.Context,
    manifest: Annotated[
        Path,
        typer.Argument(
            help="Manifest CSV or folder of audio files; with --modality text, a text file (one sentence per line), a folder of them, or a CSV/JSONL with a text column."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory to write.")],
    modality: Annotated[
        C.Modality, typer.Option(help="audio (speech segments) or text (sentences).")
    ] = C.Modality["audio"],
    recipe: Annotated[
        C.Recipe | None,
        typer.Option(
            help="A named recipe (seqae/recipes): settings the options given override.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="A TOML or JSON config file (a run's config.json is one): settings the options given override.",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue from RUN/checkpoints/last.ckpt.")] = True,
    trim: Annotated[
        bool,
        typer.Option(
            help="Trim each segment's leading and trailing non-speech (--no-trim keeps clips as they are).",
            rich_help_panel=INPUT,
        ),
    ] = True,
    segment: Annotated[
        C.SegmentMode,
        typer.Option(
            help="For a folder of long recordings: train on the speech regions 'seqae ingest' cuts from them, vad (voice activity) or windows (dense windows); none: every manifest row or file is one segment.",
            rich_help_panel=INPUT,
        ),
    ] = C.SegmentMode["none"],
    vad: Annotated[
        C.VadMethod,
        typer.Option(help="--segment vad: the voice-activity detector.", rich_help_panel=INPUT),
    ] = C.VadMethod["webrtc"],
    lr: Annotated[
        float | None,
        typer.Option(
            help="Peak learning rate (AdamW, cosine decay); default: the encoder's own (0.004 for gru, lstm and pyramidal, lower for the plain and clockwork RNNs).",
            min=0.0,
            show_default=False,
            rich_help_panel=TRAINING,
        ),
    ] = None,
    **options: Any,
) -> None:
    """Train a sequence autoencoder on the segments of MANIFEST (labels are used only by
    --pairs labels), or with --modality text a sentence autoencoder on a text corpus.
    Settings come from the defaults, then --recipe, then --config, then the options given."""
    from seqae.settings import resolve

    given = {n for n in ctx.params if ctx.get_parameter_source(n).name != "DEFAULT"}
    values = {n: v for n, v in ctx.params.items() if n in BY_NAME and n in given}
    modality = C.plain(modality)
    layer = options_layer(modality, values, given)
    if "lr" in given:
        layer.setdefault("train", {})["learning_rate"] = lr
    if not trim:
        layer.setdefault("features", {})["trim_db"] = 0.0
    settings = resolve(modality, C.plain(recipe), config, layer)
    if modality == "text":
        return train_text(manifest, out, settings, resume)
    _train_speech(manifest, out, settings, resume, C.plain(segment), C.plain(vad))


def _signature() -> inspect.Signature:
    """``train``'s own parameters, then one keyword option per row of SETTINGS."""
    own = inspect.signature(train, eval_str=True).parameters.values()
    own = [p for p in own if p.kind != p.VAR_KEYWORD]
    rows = []
    for s in SETTINGS:
        option = typer.Option(help=s.help, min=s.minimum, max=s.maximum, rich_help_panel=s.panel)
        annotation = Annotated[s.kind, option]
        rows.append(
            inspect.Parameter(
                s.name, inspect.Parameter.KEYWORD_ONLY, default=s.default(), annotation=annotation
            )
        )
    return inspect.Signature([*own, *rows])


train.__signature__ = _signature()  # type: ignore[attr-defined]
train.__annotations__.update(
    {p.name: p.annotation for p in train.__signature__.parameters.values() if p.name in BY_NAME}
)
train = cli_command(train)


def _train_speech(manifest: Path, out: Path, settings: dict, resume: bool, segment: str, vad: str):
    from contextlib import nullcontext

    from pipelines.embed.ingest import find_audio
    from pipelines.io.manifest import read_manifest
    from pipelines.train.job import TrainJob
    from pipelines.train.speech import is_main_process, long_recording_settings, train_model

    cut = long_recording_settings(manifest, segment, vad)
    job = TrainJob(manifest, out, settings, resume=resume, segments=cut)
    main = is_main_process()  # the extra processes of a parallel run train, and say nothing
    total = len(find_audio(manifest)) if cut else len(read_manifest(manifest))
    label = "segmenting recordings" if cut else "features"
    with progress_bar(label, total) if main else nullcontext(lambda n=1: None) as advance:
        data, result = train_model(job, advance, bars=main)
    if main:
        write_command_record(out, {k: v.to_dict() for k, v in job.settings.items()})
        report_skipped(data.skipped)
        _report(job, data, result)


def _report(job, data, result) -> None:
    import json

    settings, pairs_file = job.train, job.out / "pairs.json"
    if settings.paired and pairs_file.is_file():
        report = json.loads(pairs_file.read_text())
        purity = f", purity {report['purity']:.2f}" if report.get("purity") is not None else ""
        console.print(
            f"pairs ({report['source']}): {report['pairs']} covering "
            f"{report['segments_paired']} segments{purity} -> {job.out / 'pairs.csv'}"
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


def train_text(manifest: Path, out: Path, settings: dict[str, Any], resume: bool) -> None:
    """``seqae train --modality text``: fit a tokenizer and a sentence autoencoder."""
    from pipelines.train.job import TrainJob
    from pipelines.train.text import run_text_training

    model, train = settings["model"], settings["train"]
    if not model.feed_tokens and (model.word_dropout > 0 or train.sampling > 0):
        err_console.print(
            "warning: --word-dropout and --sampling change the tokens the decoder reads; "
            "without --feed-tokens it reads none, so they have no effect"
        )
    job = TrainJob(manifest, out, settings, modality="text", resume=resume)
    outcome = run_text_training(job)
    write_command_record(job.out, job.resolved_config())
    report_corpus(outcome.corpus.skipped, outcome.corpus.repaired)
    result = outcome.result
    loss = f"{result.best_val_loss:.4f}" if result.best_val_loss is not None else "n/a"
    console.print(
        f"trained on {result.train_sentences} sentences ({result.val_sentences} validation, "
        f"{len(outcome.corpus.skipped)} lines skipped) for {result.epochs} epochs; "
        f"{result.seconds:.0f} s; {job.tokens.kind} tokens, vocabulary {outcome.vocab_size} "
        f"({outcome.unknown_share:.1%} of tokens unknown); best validation loss {loss}; "
        f"model {result.model_id} -> {result.bundle}",
        soft_wrap=True,
    )
