"""Training settings on the command line: panels, choices, config files and recipes."""

from __future__ import annotations

import json

from seqae.cli import app
from tests.test_cli import flat, run


def test_help_texts_have_no_hard_line_breaks():
    import typer

    def commands(group, prefix: str = ""):
        for name, command in group.commands.items():
            yield f"{prefix}{name}", command
            if hasattr(command, "commands"):  # a group: index, eval
                yield from commands(command, f"{prefix}{name} ")

    found = list(commands(typer.main.get_command(app)))
    assert len(found) == 23
    for name, command in found:
        for paragraph in (command.help or "").split("\n\n"):
            assert "\n" not in paragraph, (name, paragraph)
        for param in command.params:
            assert "\n" not in (getattr(param, "help", None) or ""), (name, param.name)


def test_settings_layer_recipe_then_config_file_then_options(corpus, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('[model]\nhidden_size = 12\ncell = "lstm"\n[train]\nepochs = 2\n'
                      'pretrain_epochs = 1\nbatch_size = 8\n')  # fmt: skip
    out = tmp_path / "run"
    small = ("--hidden", "10", "--dim", "8", "--decoder-hidden", "8")
    result = run("train", corpus / "archive.csv", "--out", out, "--recipe", "labels",
                 "--config", config, *small)  # fmt: skip
    assert result.exit_code == 0, result.output
    resolved = json.loads((out / "config.json").read_text())
    assert resolved["train"]["objective"] == "siamese" and resolved["train"]["pairs"] == "labels"
    assert resolved["model"]["cell"] == "lstm" and resolved["model"]["hidden_size"] == 10
    assert resolved["features"]["trim_db"] == 25.0  # the training default, not the class's 0


def test_config_files_are_checked_before_any_training(corpus, tmp_path):
    bad = tmp_path / "bad.toml"
    cases = {
        "[model]\nhiden_size = 12\n": "unknown setting 'hiden_size'",
        "[modle]\nhidden_size = 12\n": "no settings section 'modle'",
        "[train]\nepochs = 'ten'\n": "epochs must be int",
        "[train\nepochs = 2\n": "not a valid TOML file",
        'modality = "text"\n': "settings for --modality text, not audio",
        '[model]\ncell = "gur"\n': "unknown cell 'gur'",
    }
    for text, message in cases.items():
        bad.write_text(text)
        result = run("train", corpus / "archive.csv", "--out", tmp_path / "r", "--config", bad)
        assert result.exit_code == 2 and message in flat(result.output), (text, result.output)
        assert str(bad) in flat(result.output) or "cell" in message
    assert not (tmp_path / "r").exists()


def test_every_recipe_resolves_and_choices_match_the_library():
    from pipelines.discover.archive import TIER_FORMATS
    from pipelines.segment.longform import SEGMENT_MODES
    from pipelines.segment.vad import VAD_METHODS
    from pipelines.viz.maps import METHODS
    from seqae.cli import choices
    from seqae.config import CELLS
    from seqae.models import encoder_names
    from seqae.settings import recipe_names, resolve

    assert sorted(CELLS) == encoder_names()
    assert [c.value for c in choices.SegmentMode] == ["none", *SEGMENT_MODES]
    assert tuple(c.value for c in choices.VadMethod) == VAD_METHODS
    assert tuple(c.value for c in choices.Projection) == METHODS
    assert tuple(c.value for c in choices.Tier) == TIER_FORMATS
    assert {"default", "quick", "labels", "text-quick"} <= set(recipe_names())
    for name in recipe_names():
        modality = "text" if name.startswith("text") else "audio"
        assert resolve(modality, recipe=name)["train"] is not None


def test_every_command_line_mistake_is_one_line():
    cases = [
        (("train", "m.csv", "--out", "r", "--cell", "gur"), "'gur' is not one of 'rnn'"),
        (("train", "m.csv", "--out", "r", "--epoch", "3"), "No such option: --epoch"),
        (("index", "build"), "Missing argument"),
        (("serach",), "No such command 'serach'"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_speech_only_options_are_refused_for_a_text_model(tmp_path):
    cases = {
        "--trim": ("--no-trim",),
        "--segment": ("--segment", "vad"),
        "--vad": ("--vad", "energy"),
    }
    for name, args in cases.items():
        result = run("train", "t.csv", "--out", tmp_path / "r", "--modality", "text", *args)
        assert result.exit_code == 2 and f"{name}: for audio models only" in result.output
