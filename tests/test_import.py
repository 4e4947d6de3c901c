"""Annotations as manifests: TextGrids saved by praatio, .eaf files saved by pympi, Kaldi data
directories written by lhotse, read directly and through ``seqae manifest``."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipelines.io.annotations import read_annotations
from pipelines.io.manifest import read_manifest
from seqae.audio import write_wav
from seqae.cli import app
from seqae.errors import SeqaeError

runner = CliRunner()
RATE = 16000


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def flat(output: str) -> str:
    return " ".join(output.split())


def one_line_error(result, *parts: str) -> None:
    """The command failed with exit code 2 and one error line holding every part."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("error:"), result.output
    for part in parts:
        assert part in flat(result.output), result.output


def make_wav(path: Path, seconds: float = 3.0) -> Path:
    """A tone with a slow tremolo and a little noise: real, non-silent 16 kHz audio."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    samples = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    write_wav(path, (samples + 0.01 * rng.standard_normal(len(t))).astype(np.float32), RATE)
    return path


def spans(segments) -> list[tuple]:
    """(audio, start ms, end ms, label) of each segment."""
    return [
        (s.path, None if s.start is None else round(s.start * 1000),
         None if s.end is None else round(s.end * 1000), s.label)
        for s in segments
    ]  # fmt: skip


# Praat TextGrid (praatio)

WORDS = [(0.25, 0.75, "cat"), (0.75, 1.0, " "), (1.0, 1.5, "dog"), (2.125, 2.875, "cat")]


def save_textgrid(path: Path, tiers: dict, end: float = 3.0) -> Path:
    from praatio import textgrid

    grid = textgrid.Textgrid()
    for name, entries in tiers.items():
        if name.startswith("point"):
            grid.addTier(textgrid.PointTier(name, entries, 0.0, end))
        else:
            grid.addTier(textgrid.IntervalTier(name, entries, 0.0, end))
    grid.save(str(path), format="long_textgrid", includeBlankSpaces=True)
    return path


@pytest.fixture
def textgrid(tmp_path) -> Path:
    """rec.TextGrid beside rec.wav (and rec.flac, which .wav wins over): words and phones."""
    make_wav(tmp_path / "rec.wav")
    shutil.copy(tmp_path / "rec.wav", tmp_path / "rec.flac")
    phones = [(0.25, 0.5, "k"), (0.5, 0.75, "at")]
    return save_textgrid(tmp_path / "rec.TextGrid", {"words": WORDS, "phones": phones})


def test_textgrid_tier(textgrid):
    segments = read_annotations(textgrid, tier="words")
    audio = textgrid.with_suffix(".wav").resolve()
    assert spans(segments) == [
        (audio, 250, 750, "cat"), (audio, 1000, 1500, "dog"), (audio, 2125, 2875, "cat"),
    ]  # fmt: skip
    assert segments[0].metadata == {"label": "cat", "tier": "words"}


def test_textgrid_tier_in_the_path(textgrid):
    assert [s.label for s in read_manifest(f"{textgrid}#phones")] == ["k", "at"]
    with pytest.raises(SeqaeError, match=r"holds 2 tiers \('words', 'phones'\); pick one"):
        read_manifest(textgrid)
    with pytest.raises(SeqaeError, match=r"no tier 'word' \(tiers: 'words', 'phones'\)"):
        read_manifest(f"{textgrid}#word")


def test_textgrid_single_tier_and_explicit_audio(tmp_path):
    audio = make_wav(tmp_path / "audio" / "session 1.wav")
    grid = save_textgrid(tmp_path / "notes.TextGrid", {"words": WORDS})
    with pytest.raises(SeqaeError, match=r"notes.TextGrid: no audio file notes.wav .*--audio"):
        read_manifest(grid)
    segments = read_annotations(grid, audio=audio)
    assert [s.path for s in segments] == [audio.resolve()] * 3
    with pytest.raises(SeqaeError, match="no such audio file"):
        read_annotations(grid, audio=tmp_path / "missing.wav")


def test_point_tier_refused(tmp_path):
    make_wav(tmp_path / "rec.wav")
    grid = save_textgrid(tmp_path / "rec.TextGrid", {"points": [(0.5, "click")]})
    with pytest.raises(SeqaeError, match="tier 'points' is a point tier"):
        read_manifest(grid)


# ELAN (pympi)


def save_eaf(path: Path, media_url: str, relative_url: str | None = None) -> Path:
    """Tier 'words' (participant Anna), its one-to-one glosses, its syllables (a symbolic
    subdivision) and an empty 'notes' tier."""
    import pympi

    eaf = pympi.Elan.Eaf(author="seqae tests")
    eaf.remove_tier("default")
    eaf.add_linked_file(media_url, relpath=relative_url, mimetype="audio/x-wav")
    eaf.add_tier("words", part="Anna")
    for start, end, value in [(1000, 1500, "dog"), (250, 750, "cat"), (1600, 1800, " ")]:
        eaf.add_annotation("words", start, end, value)
    eaf.add_linguistic_type("gloss", constraints="Symbolic_Association", timealignable=False)
    eaf.add_tier("gloss", ling="gloss", parent="words")
    eaf.add_ref_annotation("gloss", "words", 500, "CAT")
    eaf.add_ref_annotation("gloss", "words", 1200, "DOG")
    eaf.add_linguistic_type("parts", constraints="Symbolic_Subdivision", timealignable=False)
    eaf.add_tier("syllables", ling="parts", parent="words")
    eaf.add_ref_annotation("syllables", "words", 500, "ca")
    eaf.add_ref_annotation("syllables", "words", 500, "t")
    eaf.add_tier("notes")
    path.parent.mkdir(parents=True, exist_ok=True)
    eaf.to_file(str(path))
    return path


def test_eaf_relative_media_and_speaker(tmp_path):
    audio = make_wav(tmp_path / "media" / "rec.wav")
    # the absolute URL is stale (the files moved): the relative one finds the audio
    eaf = save_eaf(tmp_path / "rec.eaf", "file:///elsewhere/rec.wav", "./media/rec.wav")
    segments = read_manifest(f"{eaf}#words")
    audio = audio.resolve()
    assert spans(segments) == [(audio, 250, 750, "cat"), (audio, 1000, 1500, "dog")]
    assert segments[0].metadata == {"label": "cat", "tier": "words", "speaker": "Anna"}
    # the one-to-one glosses take their words' times
    glosses = read_annotations(eaf, tier="gloss")
    assert spans(glosses) == [(audio, 250, 750, "CAT"), (audio, 1000, 1500, "DOG")]


def test_eaf_absolute_file_url(tmp_path):
    audio = make_wav(tmp_path / "my media" / "rec.wav")
    url = "file://" + str(audio).replace(" ", "%20")
    eaf = save_eaf(tmp_path / "notes" / "rec.eaf", url)
    assert {s.path for s in read_annotations(eaf, tier="words")} == {audio.resolve()}


def test_eaf_errors(tmp_path):
    eaf = save_eaf(tmp_path / "rec.eaf", "file:///elsewhere/rec.wav", "./rec.wav")
    with pytest.raises(SeqaeError, match=r"linked audio ./rec.wav is not found.*--audio"):
        read_annotations(eaf, tier="words")
    make_wav(tmp_path / "rec.wav")
    with pytest.raises(SeqaeError, match=r"4 tiers \('words', 'gloss', 'syllables', 'notes'\)"):
        read_manifest(eaf)
    with pytest.raises(SeqaeError, match="tier 'syllables' subdivides"):
        read_annotations(eaf, tier="syllables")
    with pytest.raises(SeqaeError, match="tier 'notes' holds no labelled intervals"):
        read_annotations(eaf, tier="notes")


# Kaldi data directories (lhotse)


def export_kaldi(out: Path, recordings: list[tuple], supervisions: list[tuple], depth=None):
    """lhotse's Kaldi export of ``recordings`` (id, audio file, relative path depth) and
    ``supervisions`` (id, recording, start, duration, text, speaker)."""
    from lhotse import Recording, RecordingSet, SupervisionSegment, SupervisionSet
    from lhotse.kaldi import export_to_kaldi

    recording_set = RecordingSet.from_recordings(
        Recording.from_file(path, recording_id=name, relative_path_depth=depth)
        for name, path, depth in recordings
    )
    supervision_set = SupervisionSet.from_segments(
        SupervisionSegment(id=u, recording_id=r, start=s, duration=d, text=t, speaker=k)
        for u, r, s, d, t, k in supervisions
    )
    export_to_kaldi(recording_set, supervision_set, out)
    return out


@pytest.fixture
def kaldi_dir(tmp_path) -> Path:
    """data/train with one recording under data/wav/ (wav.scp: wav/a.wav, from the data dir's
    parent) and one inside the data dir (wav.scp: b.wav)."""
    data = tmp_path / "corpus" / "data"
    a = make_wav(data / "wav" / "a.wav")
    b = make_wav(data / "train" / "b.wav", seconds=2.0)
    utterances = [
        ("anna-a-1", "a", 0.25, 0.5, "the cat", "anna"),
        ("anna-a-2", "a", 1.0, 0.75, "a dog", "anna"),
        ("ben-b-1", "b", 0.5, 1.0, "the cat", "ben"),
    ]
    return export_kaldi(data / "train", [("a", a, 2), ("b", b, 1)], utterances)


def test_kaldi_dir(kaldi_dir):
    assert (kaldi_dir / "wav.scp").read_text().split("\n")[:2] == ["a wav/a.wav", "b b.wav"]
    segments = read_manifest(kaldi_dir)
    a = (kaldi_dir.parent / "wav" / "a.wav").resolve()
    b = (kaldi_dir / "b.wav").resolve()
    assert spans(segments) == [
        (a, 250, 750, "the cat"), (a, 1000, 1750, "a dog"), (b, 500, 1500, "the cat"),
    ]  # fmt: skip
    assert [s.metadata["speaker"] for s in segments] == ["anna", "anna", "ben"]
    assert segments[0].metadata["utterance"] == "anna-a-1"


def test_kaldi_paths_from_the_recipe_folder(tmp_path):
    """wav.scp paths as a recipe writes them: from s5/, for the data dir s5/data/train."""
    audio = make_wav(tmp_path / "s5" / "data" / "wav" / "a.wav")
    data = tmp_path / "s5" / "data" / "train"
    export_kaldi(data, [("a", audio, 3)], [("u", "a", 0.0, 1.0, "hi", "s")])
    assert (data / "wav.scp").read_text().split("\n")[0] == "a data/wav/a.wav"
    assert read_manifest(data)[0].path == audio.resolve()


def test_kaldi_dir_without_segments(tmp_path):
    audio = make_wav(tmp_path / "audio" / "a.wav")
    data = export_kaldi(tmp_path / "data", [("a", audio, None)], [("a", "a", 0.0, 3.0, "hi", "s")])
    (data / "segments").unlink()  # one utterance per recording, named as the recording
    [segment] = read_manifest(data)
    assert (segment.path, segment.start, segment.end) == (audio.resolve(), None, None)
    assert segment.metadata == {"utterance": "a", "speaker": "s", "label": "hi"}


def test_kaldi_audio_root(kaldi_dir, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.copytree(kaldi_dir.parent / "wav", moved / "wav")
    segments = read_annotations(kaldi_dir, audio=moved)
    assert segments[0].path == (moved / "wav" / "a.wav").resolve()
    assert segments[2].path == (kaldi_dir / "b.wav").resolve()  # not under the root: the dir's


def test_piped_wav_scp_refused(tmp_path):
    flac = tmp_path / "audio" / "a.flac"
    flac.parent.mkdir()
    import soundfile as sf

    sf.write(str(flac), np.zeros(RATE, np.float32) + 0.1, RATE)
    data = export_kaldi(tmp_path / "data", [("a", flac, None)], [("u", "a", 0.0, 1.0, "x", "s")])
    assert (data / "wav.scp").read_text().rstrip().endswith("|")  # lhotse pipes it to ffmpeg
    with pytest.raises(SeqaeError, match=r"wav.scp:1: a is read through a command"):
        read_manifest(data)
    (data / "wav.scp").write_text(f"a {flac}\nb /archive/feats.ark:1234\n")
    with pytest.raises(SeqaeError, match=r"wav.scp:2: b is read through an archive"):
        read_manifest(data)


def test_kaldi_missing_audio(kaldi_dir, tmp_path):
    (kaldi_dir / "wav.scp").write_text("a wav/gone.wav\n")
    (kaldi_dir / "segments").write_text("u a 0 1\n")
    with pytest.raises(SeqaeError, match=r"wav.scp: none of its 1 audio files exists"):
        read_manifest(kaldi_dir)


def test_folder_of_audio_stays_a_folder(tmp_path):
    make_wav(tmp_path / "a.wav")
    (tmp_path / "segments").write_text("not kaldi: there is no wav.scp\n")
    assert [(s.path.name, s.start) for s in read_manifest(tmp_path)] == [("a.wav", None)]


# seqae manifest


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_cli_textgrid(textgrid, tmp_path):
    out = tmp_path / "manifests" / "words.csv"
    result = run("manifest", textgrid, "--tier", "words", "--out", out)
    assert result.exit_code == 0, result.output
    assert "wrote 3 segments with 2 distinct labels" in flat(result.output)
    rows = read_csv(out)
    assert list(rows[0]) == ["path", "start", "end", "label", "tier"]
    assert rows[0] == {"path": "../rec.wav", "start": "0.25", "end": "0.75", "label": "cat",
                       "tier": "words"}  # fmt: skip
    assert spans(read_manifest(out)) == spans(read_annotations(textgrid, tier="words"))


def test_cli_eaf(tmp_path):
    make_wav(tmp_path / "rec.wav")
    eaf = save_eaf(tmp_path / "rec.eaf", "file:///elsewhere/rec.wav", "./rec.wav")
    out = tmp_path / "rec.csv"
    result = run("manifest", f"{eaf}#words", "--out", out)
    assert result.exit_code == 0, result.output
    assert "wrote 2 segments with 2 distinct labels" in flat(result.output)
    assert read_csv(out)[1] == {"path": "rec.wav", "start": "1.0", "end": "1.5", "label": "dog",
                                "tier": "words", "speaker": "Anna"}  # fmt: skip
    assert [s.metadata for s in read_manifest(out)] == [
        s.metadata for s in read_annotations(eaf, tier="words")
    ]


def test_cli_kaldi(kaldi_dir):
    out = kaldi_dir.parent / "train.csv"
    result = run("manifest", kaldi_dir, "--out", out)
    assert result.exit_code == 0, result.output
    assert "wrote 3 segments with 2 distinct labels" in flat(result.output)
    assert [row["path"] for row in read_csv(out)] == ["wav/a.wav", "wav/a.wav", "train/b.wav"]
    back, direct = read_manifest(out), read_manifest(kaldi_dir)
    assert spans(back) == spans(direct)
    assert [s.metadata for s in back] == [s.metadata for s in direct]


def test_cli_errors(textgrid, kaldi_dir, tmp_path):
    out = tmp_path / "m.csv"
    one_line_error(
        run("manifest", textgrid, "--tier", "word", "--out", out),
        "no tier 'word' (tiers: 'words', 'phones')", "--tier NAME or rec.TextGrid#NAME",
    )  # fmt: skip
    one_line_error(run("manifest", textgrid, "--out", out), "holds 2 tiers")
    one_line_error(
        run("manifest", f"{textgrid}#words", "--tier", "phones", "--out", out), "give one"
    )
    one_line_error(run("manifest", textgrid, "--out", tmp_path / "m.txt"), "a .csv file")
    one_line_error(run("manifest", textgrid, "--out", tmp_path), "a folder")
    one_line_error(run("manifest", tmp_path / "none.TextGrid", "--out", out), "no such file")
    one_line_error(run("manifest", kaldi_dir, "--tier", "x", "--out", out), "has no tiers")
    one_line_error(
        run("manifest", kaldi_dir, "--audio", kaldi_dir / "b.wav", "--out", out), "not a folder"
    )
    (tmp_path / "rec.wav").unlink()
    (tmp_path / "rec.flac").unlink()
    one_line_error(
        run("manifest", textgrid, "--tier", "words", "--out", out),
        "no audio file rec.wav", "--audio AUDIO",
    )  # fmt: skip
    assert not out.exists()


def test_cli_never_overwrites_its_input(textgrid, tmp_path):
    out = tmp_path / "m.csv"
    assert run("manifest", textgrid, "--tier", "words", "--out", out).exit_code == 0
    before = out.read_bytes()
    one_line_error(run("manifest", out, "--out", out), "is or holds the input")
    assert out.read_bytes() == before


# an imported file given directly to a command


def test_embed_reads_a_textgrid(corpus, trained_run, tmp_path):
    """``seqae embed RUN rec.TextGrid#words``: the tier's labels come back as metadata."""
    from pipelines.embed.shards import read_embeddings

    truth = read_manifest(corpus / "long.csv")
    recording = truth[0].path
    rows = [s for s in truth if s.path == recording]
    shutil.copy(recording, tmp_path / "rec.wav")
    import soundfile as sf

    end = sf.info(str(recording)).duration
    words = [(s.start, s.end, s.label) for s in rows]
    grid = save_textgrid(tmp_path / "rec.TextGrid", {"words": words, "notes": []}, end=end)
    result = run("embed", trained_run, f"{grid}#words", "--out", tmp_path / "emb")
    assert result.exit_code == 0, result.output
    assert f"embedded {len(rows)} segments" in flat(result.output)
    metadata = read_embeddings(tmp_path / "emb").metadata.to_pylist()
    assert [m["label"] for m in metadata] == [s.label for s in rows]
    assert {m["tier"] for m in metadata} == {"words"}
    assert [round(m["start"], 3) for m in metadata] == [round(s.start, 3) for s in rows]
