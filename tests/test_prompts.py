"""``seqae prompts`` on a tiny fake Asterisk sounds tree (and on the real packages if installed)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from pipelines.demo.prompts import LANGUAGES, SOUNDS_ROOT, PromptsConfig, find_pairs, make_prompts
from pipelines.io.manifest import read_manifest
from seqae.cli import app
from seqae.errors import SeqaeError

RATE = 8000
HAS_SOX = shutil.which("sox") is not None
# folder -> prompt names; both Italian voices share digits/1, letters/a, phonetic/a_p, vm-login.
TREE = {
    "it_IT_m_Carlo": [
        "digits/1",
        "digits/2",
        "letters/a",
        "phonetic/a_p",
        "vm-login",
        "only-carlo",
    ],
    "it_IT_f_Menardi": ["digits/1", "letters/a", "phonetic/a_p", "vm-login", "silence/1"],
    "fr_CA_f_June": ["digits/1", "digits/2", "letters/b"],
    "fr": ["digits/1", "digits/2", "letters/b"],
}


def _tone(seed: int, seconds: float = 0.3) -> np.ndarray:
    """A distinct int16 tone per prompt, so a written file can be traced to its source."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (8000 * np.sin(2 * np.pi * (200 + 37 * seed) * t)).astype(np.int16)


@pytest.fixture
def sounds(tmp_path):
    """A fake /usr/share/asterisk/sounds with two voices of Italian and two of French."""
    root = tmp_path / "sounds"
    for i, (folder, names) in enumerate(TREE.items()):
        for j, name in enumerate(names):
            path = root / folder / f"{name}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), _tone(10 * i + j), RATE, subtype="PCM_16")
    return root


def config(sounds, **changes) -> PromptsConfig:
    return PromptsConfig(**{"sounds": sounds, "languages": ("it", "fr"), **changes})


def test_pairs_keep_word_prompts_both_voices_have(sounds):
    pairs = find_pairs(config(sounds))
    assert [p.label for p in pairs] == [
        "it:digits/1",
        "it:letters/a",
        "it:phonetic/a_p",
        "fr:digits/1",
        "fr:digits/2",
        "fr:letters/b",
    ]
    assert pairs[0].archive_source == sounds / "it_IT_m_Carlo" / "digits" / "1.wav"
    assert pairs[0].query_source == sounds / "it_IT_f_Menardi" / "digits" / "1.wav"
    assert [p.category for p in pairs[:3]] == ["digits", "letters", "phonetic"]


def test_all_prompts_and_swapped_voices(sounds):
    pairs = find_pairs(config(sounds, all_prompts=True, swap_voices=True))
    labels = [p.label for p in pairs]
    assert "it:vm-login" in labels and "it:silence/1" not in labels  # silence is never kept
    phrase = pairs[labels.index("it:vm-login")]
    assert phrase.category == "phrase"
    assert phrase.archive_source.parent.name == "it_IT_f_Menardi"


def test_manifests_and_wavs(sounds, tmp_path):
    out = tmp_path / "out"
    (sounds / "fr" / "letters" / "b.wav").write_text("not audio")  # bad files: pairs skipped
    sf.write(str(sounds / "fr_CA_f_June" / "digits" / "2.wav"), np.zeros(RATE, np.int16), RATE)
    summary = make_prompts(out, config(sounds))
    assert summary.pairs == {"it": 3, "fr": 1} and len(summary.skipped) == 2
    assert "silent" in summary.skipped[0] and "b.wav: cannot decode" in summary.skipped[1]
    archive, queries = (
        read_manifest(out / "it" / "archive.csv"),
        read_manifest(out / "it" / "queries.csv"),
    )
    assert [s.label for s in archive] == [s.label for s in queries]
    assert {s.metadata["speaker"] for s in archive} == {"it_IT_m_Carlo"}
    assert {s.metadata["speaker"] for s in queries} == {"it_IT_f_Menardi"}
    assert archive[0].metadata["language"] == "it" and archive[0].metadata["category"] == "digits"
    assert archive[0].path == (out / "wav" / "it" / "it_IT_m_Carlo" / "digits" / "1.wav").resolve()
    samples, rate = sf.read(str(archive[0].path), dtype="int16")
    assert rate == RATE and samples.ndim == 1 and sf.info(str(archive[0].path)).subtype == "PCM_16"
    assert np.array_equal(samples, _tone(0))  # Carlo's digits/1, unchanged
    everything = read_manifest(out / "all" / "archive.csv")
    assert [s.label for s in everything] == [s.label for s in archive] + ["fr:digits/1"]
    assert all(s.path.is_file() for s in everything + read_manifest(out / "all" / "queries.csv"))
    readme = (out / "README.md").read_text()
    assert "asterisk-prompt-it-menardi-wav" in readme and "CC BY-SA 3.0" in readme


def test_rerun_is_identical_and_drops_stale_files(sounds, tmp_path):
    out = tmp_path / "out"
    make_prompts(out, config(sounds, all_prompts=True))
    phrase = out / "wav" / "it" / "it_IT_m_Carlo" / "vm-login.wav"
    assert phrase.is_file()
    make_prompts(out, config(sounds))
    first = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    make_prompts(out, config(sounds))
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == first
    assert not phrase.exists() and "vm-login" not in (out / "it" / "archive.csv").read_text()


@pytest.mark.skipif(not HAS_SOX, reason="sox is not installed")
def test_raw_gsm_is_decoded_with_sox(sounds, tmp_path):
    source = sounds / "fr" / "digits" / "2.wav"
    gsm = source.with_suffix(".gsm")
    subprocess.run(["sox", str(source), "-r", "8000", "-c", "1", str(gsm)], check=True)
    source.unlink()
    summary = make_prompts(tmp_path / "out", config(sounds, languages=("fr",)))
    assert summary.pairs == {"fr": 3}
    queries = read_manifest(tmp_path / "out" / "fr" / "queries.csv")
    decoded, rate = sf.read(str(queries[1].path), dtype="int16")
    assert queries[1].label == "fr:digits/2" and rate == RATE
    assert abs(len(decoded) - len(_tone(0))) < 200  # GSM frames are 160 samples


def test_gsm_without_sox_is_refused_before_any_work(sounds, tmp_path, monkeypatch):
    (sounds / "fr" / "digits" / "2.wav").rename(sounds / "fr" / "digits" / "2.gsm")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SeqaeError, match="needs sox"):
        make_prompts(tmp_path / "out", config(sounds))
    assert not (tmp_path / "out").exists()


def test_missing_voice_names_folder_and_packages(sounds):
    shutil.rmtree(sounds / "it_IT_f_Menardi")
    with pytest.raises(SeqaeError) as error:
        find_pairs(config(sounds))
    message = str(error.value)
    assert "it_IT_f_Menardi" in message and "asterisk-prompt-it-menardi-wav" in message
    assert "asterisk-core-sounds-it-wav" in message and "\n" not in message


def test_voices_mixed_by_the_alternatives_link_are_refused(sounds):
    shutil.rmtree(sounds / "fr")
    (sounds / "fr").symlink_to("fr_CA_f_June")  # what asterisk-core-sounds-fr's postinst makes
    with pytest.raises(SeqaeError, match="mixed in one folder"):
        find_pairs(config(sounds))


@pytest.mark.parametrize("where", ["sounds", "sounds/out", "parent"])
def test_out_overlapping_the_sounds_is_refused(sounds, where):
    out = {"sounds": sounds, "sounds/out": sounds / "out", "parent": sounds.parent}[where]
    configured = config(sounds if where != "parent" else sounds.parent / "wav" / "x")
    with pytest.raises(SeqaeError, match="overlaps the prompts it reads"):
        make_prompts(out, configured)
    assert sorted(p.name for p in sounds.iterdir()) == sorted(TREE)  # nothing written


def test_unknown_language_lists_the_choices(sounds):
    with pytest.raises(SeqaeError, match="choices: it, fr, es"):
        find_pairs(config(sounds, languages=("de",)))


def test_cli(sounds, tmp_path):
    runner = CliRunner()
    args = ["prompts", str(tmp_path / "out"), "--sounds", str(sounds), "--languages", "it,fr"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "wrote 6 pairs in 2 languages (it 3, fr 3)" in result.output
    assert (tmp_path / "out" / "command.json").is_file()
    result = runner.invoke(app, [*args[:-1], "it,es"])
    assert result.exit_code == 2 and "apt-get install asterisk-core-sounds-es-wav" in result.output


def _installed_languages() -> tuple[str, ...]:
    return tuple(
        code
        for code, language in LANGUAGES.items()
        if all((SOUNDS_ROOT / v.folder).is_dir() for v in (language.archive, language.queries))
    )


@pytest.mark.skipif(not _installed_languages(), reason="no Asterisk voice pair is installed")
def test_real_installed_packages(tmp_path):
    languages = _installed_languages()
    if "fr" in languages or "es" in languages:
        if not HAS_SOX:
            pytest.skip("the French and Spanish community voices are raw GSM: sox is needed")
    summary = make_prompts(tmp_path / "out", PromptsConfig(languages=languages))
    assert all(summary.pairs[code] >= 50 for code in languages), summary.pairs
    archive = read_manifest(tmp_path / "out" / "all" / "archive.csv")
    queries = read_manifest(tmp_path / "out" / "all" / "queries.csv")
    assert [s.label for s in archive] == [s.label for s in queries]
    assert {s.label.split(":")[0] for s in archive} == set(languages)
    assert all(s.metadata["category"] in ("digits", "letters", "phonetic") for s in archive)
    assert sf.info(str(archive[0].path)).samplerate == 8000
