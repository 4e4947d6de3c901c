"""The web page of ``seqae serve`` in a real headless Chromium (Debian's chromium and
chromium-driver, driven by selenium): upload a clip of a held-out voice, find its word among the
hits, play one, record from a (fake) microphone; on an index of long recordings, search with
several clips of a word, hear hits in context, find them on each recording's strip, and export
them for spreadsheets, ELAN and Praat.

The README's screenshot is made by the same code on the demo index:
``python -m tests.test_browser demo/index CLIP docs/img/web-page.png``.
"""

from __future__ import annotations

import csv
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

WINDOW = (1400, 1250)
TOP = 5  # the expected word must be among this many hits


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) executables, or None when Chromium is not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(index: Path, *options: str, timeout: float = 120.0) -> Iterator[str]:
    """``seqae serve INDEX [OPTIONS]`` in a child process on a free port; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "seqae", "serve", str(index), "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"seqae serve stopped: {process.stdout.read()}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"seqae serve did not answer within {timeout:.0f} s")
            time.sleep(0.25)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


@contextmanager
def headless_chromium(paths: tuple[str, str], downloads: Path | None = None) -> Iterator:
    """Chromium driven by selenium; files it downloads go to ``downloads``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream",  # grant the microphone without asking
        "--use-fake-device-for-media-stream",  # a synthetic microphone
        "--mute-audio",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=paths[1]))
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, script: str, timeout: float = 30.0):
    """Poll a JavaScript expression until it is truthy; returns its value."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: d.execute_script(f"return {script};"), message=f"waited for {script}"
    )


def open_page(driver, base: str) -> None:
    driver.get(base + "/")
    wait_for(driver, "document.body.dataset.ready === 'true'")
    wait_for(driver, "document.querySelector('#map .main-svg') !== null")


def fit_window(driver) -> None:
    """Make the window as tall as the page, so that a screenshot shows all of it."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    frame = driver.execute_script("return window.outerHeight - window.innerHeight")
    driver.set_window_size(WINDOW[0], height + frame)


def shown_hits(driver) -> list[dict]:
    rows = driver.find_elements("css selector", "#hits tbody tr")
    return [
        {"id": int(r.get_attribute("data-id")), "label": r.get_attribute("data-label")}
        for r in rows
    ]


def search_clip(driver, *clips: Path) -> list[dict]:
    """Upload clips through the page's file input; the hits as the page lists them."""
    driver.execute_script("document.querySelector('#hits tbody').replaceChildren()")
    driver.find_element("id", "clip").send_keys("\n".join(str(c.resolve()) for c in clips))
    wait_for(driver, "document.querySelectorAll('#hits tbody tr').length > 0")
    return shown_hits(driver)


def play_hit(driver, rank: int = 1) -> dict:
    """Press a hit's play button; the player's state once its audio has loaded."""
    button = driver.find_elements("css selector", "#hits tbody tr button.play")[rank - 1]
    return played(driver, button)


def played(driver, button) -> dict:
    """Click ``button``; the player's source and duration once it has loaded, and the served
    clip's headers."""
    driver.execute_script(
        "const p = document.getElementById('player'); p.removeAttribute('src'); p.load();"
    )
    button.click()
    wait_for(driver, "document.getElementById('player').readyState >= 1")
    wait_for(driver, "document.getElementById('player').duration > 0")
    return driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const player = document.getElementById('player');
        fetch(player.currentSrc).then((r) => done({
            src: player.currentSrc, readyState: player.readyState, duration: player.duration,
            status: r.status, type: r.headers.get('content-type'),
            hitStart: parseFloat(r.headers.get('x-hit-start')),
            hitEnd: parseFloat(r.headers.get('x-hit-end'))}));
        """
    )


def first_query(corpus: Path) -> tuple[Path, str]:
    with open(corpus / "queries.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    return corpus / row["path"], row["label"]


def test_page_finds_the_word_and_plays_a_hit(archive_index, corpus, tmp_path):
    paths = chromium_paths()
    if paths is None:
        pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver)")
    clip, word = first_query(corpus)  # a voice the model never heard
    started = time.monotonic()
    with running_server(archive_index) as base, headless_chromium(paths) as driver:
        open_page(driver, base)
        hits = search_clip(driver, clip)
        assert word in [hit["label"] for hit in hits[:TOP]], hits
        assert "hits for" in driver.find_element("id", "status").text
        assert wait_for(driver, "document.getElementById('map').data.length") >= 2  # + query
        heard = play_hit(driver, 1)
        assert heard["readyState"] >= 1 and heard["duration"] > 0, heard
        assert heard["src"].endswith(f"/segments/{hits[0]['id']}/audio?context=1")
        assert heard["status"] == 200 and heard["type"] == "audio/wav"
        fit_window(driver)
        driver.save_screenshot(str(tmp_path / "web-page.png"))

        driver.find_element("id", "clip").send_keys(str(Path(__file__).resolve()))  # not audio
        wait_for(driver, "document.getElementById('status').className === 'error'")
        assert "not audio" in driver.find_element("id", "status").text

        driver.find_element("id", "record").click()  # the fake microphone beeps
        time.sleep(2.0)
        driver.find_element("id", "record").click()
        wait_for(driver, "document.getElementById('status').textContent.includes('recording.wav')")
        wait_for(driver, "document.body.dataset.searching === 'false'")
        assert "hits for recording.wav" in driver.find_element("id", "status").text
        assert wait_for(driver, "document.getElementById('query-audio').duration") > 1.0
    assert (tmp_path / "web-page.png").stat().st_size > 10_000
    assert time.monotonic() - started < 60


@pytest.fixture(scope="module")
def long_index(corpus, trained_run, tmp_path_factory) -> Path:
    from tests.test_server import build_long_index

    return build_long_index(corpus, trained_run, tmp_path_factory.mktemp("long-browser"))


def word_clips(corpus: Path) -> tuple[str, list[Path]]:
    """A word of the long recording, and two clips of it: the held-out voice's and another."""
    with open(corpus / "long.csv", newline="") as handle:
        word = next(csv.DictReader(handle))["label"]
    clips = []
    for name in ("queries.csv", "archive.csv"):
        with open(corpus / name, newline="") as handle:
            clips += [corpus / r["path"] for r in csv.DictReader(handle) if r["label"] == word]
    return word, clips[:2]


def page_result(driver) -> dict:
    return driver.execute_script("return {hits: page.hits, recordings: page.recordings};")


def downloaded(folder: Path, suffix: str, timeout: float = 20.0) -> Path:
    """The one file ending in ``suffix`` that the browser has finished saving in ``folder``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in folder.glob(f"*{suffix}") if not p.name.endswith(".crdownload")]
        if found:
            time.sleep(0.2)  # let the browser close the file
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} downloaded into {folder}: {list(folder.iterdir())}")


def test_long_recordings_several_clips_context_strips_and_exports(long_index, corpus, tmp_path):
    from pipelines.search.speech import Query, search_audio

    paths = chromium_paths()
    if paths is None:
        pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver)")
    word, clips = word_clips(corpus)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    served = running_server(long_index, "--max-clips", "3", "--max-context", "2")
    with served as base, headless_chromium(paths, downloads) as driver:
        with urllib.request.urlopen(base + "/info", timeout=5) as response:
            limits = json.loads(response.read())["limits"]
        assert (limits["max_clips"], limits["max_context_seconds"]) == (3, 2.0)
        open_page(driver, base)
        hits = search_clip(driver, *clips)  # two examples of one word, one query
        assert wait_for(driver, "document.getElementById('query-clips').dataset.count") == "2"
        assert "2 clips sent as one query" in driver.find_element("id", "query-clips").text
        expected = search_audio(long_index, [[Query(c) for c in clips]], 10, fusion="mean")[0]
        assert [h["id"] for h in hits] == [h.id for h in expected]
        result = page_result(driver)
        check_strips(driver, result)
        check_context_playback(driver, result)
        term = driver.find_element("id", "term")
        term.clear()
        term.send_keys(word)
        check_exports(driver, downloads, word, result["hits"])
        fit_window(driver)
        driver.save_screenshot(str(tmp_path / "long-recordings.png"))
    assert (tmp_path / "long-recordings.png").stat().st_size > 10_000


def check_strips(driver, result: dict) -> None:
    """One strip per recording with hits, as wide as its duration, a mark per hit."""
    by_path = {}
    for hit in result["hits"]:
        by_path.setdefault(hit["path"], []).append(hit["id"])
    durations = {r["path"]: r["duration"] for r in result["recordings"]}
    assert set(durations) == set(by_path) == {"a.wav", "b/short.wav"}
    strips = driver.execute_script(
        """return [...document.querySelectorAll('#strips .recording')].map((row) => ({
            path: row.dataset.path, width: row.querySelector('.strip').offsetWidth,
            marks: [...row.querySelectorAll('.mark')].map((m) => Number(m.dataset.id))}));"""
    )
    assert [s["path"] for s in strips] == sorted(by_path)
    for strip in strips:
        assert sorted(strip["marks"]) == sorted(by_path[strip["path"]])
    widths = {s["path"]: s["width"] for s in strips}
    ratio = widths["b/short.wav"] / widths["a.wav"]
    assert abs(ratio - durations["b/short.wav"] / durations["a.wav"]) < 0.02


def check_context_playback(driver, result: dict) -> None:
    """Hits play with a second of their recording on each side, cut at the file's bounds."""
    durations = {r["path"]: r["duration"] for r in result["recordings"]}
    first = min(result["hits"], key=lambda h: (h["start"], h["path"]))  # near the file's start
    last = max(result["hits"], key=lambda h: h["end"] / durations[h["path"]])  # near its end
    assert first["start"] < 1.0 and last["end"] + 1.0 > durations[last["path"]]
    middle = next(h for h in result["hits"] if h is not first and h is not last)
    for hit in (first, last, middle):
        mark = driver.find_element(
            "css selector",
            f"#strips .recording[data-path='{hit['path']}'] .mark[data-id='{hit['id']}']",
        )
        heard = played(driver, mark)
        assert heard["src"].endswith(f"/segments/{hit['id']}/audio?context=1"), heard
        begin = max(0.0, hit["start"] - 1.0)
        end = min(durations[hit["path"]], hit["end"] + 1.0)
        assert abs(heard["duration"] - (end - begin)) < 0.01, (hit, heard)
        assert heard["duration"] > hit["end"] - hit["start"]
        assert abs(heard["hitStart"] - (hit["start"] - begin)) < 2e-3
        wait_for(driver, f"document.getElementById('playing').dataset.id === '{hit['id']}'")
        note = driver.find_element("id", "clip-note").text
        assert f"hit at {hit['start'] - begin:.2f}–" in note, note
        row = driver.find_element("css selector", f"#hits tr[data-id='{hit['id']}']")
        assert "playing" in row.get_attribute("class").split()


def check_exports(driver, downloads: Path, word: str, hits: list[dict]) -> None:
    """The export buttons save files that their own tools read back: the hits shown."""
    import pympi
    from praatio import textgrid

    shown = {(h["path"], round(h["start"], 3), round(h["end"], 3)): h["score"] for h in hits}
    driver.find_element("css selector", "#exports button[data-format='csv']").click()
    with open(downloaded(downloads, ".csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["term"] for r in rows} == {word}
    assert {
        (r["path"], float(r["start"]), float(r["end"])): float(r["score"]) for r in rows
    } == shown
    for fmt, suffix in (("eaf", ".eaf"), ("textgrid", ".TextGrid")):
        driver.find_element("css selector", f"#exports button[data-format='{fmt}']").click()
        archive = downloaded(downloads, f"-{fmt}.zip")
        found = {}
        with zipfile.ZipFile(archive) as files:
            for name in files.namelist():
                recording = name.removesuffix(suffix) + ".wav"
                data = files.read(name)
                target = downloads / fmt / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                if fmt == "eaf":
                    eaf = pympi.Elan.Eaf(str(target))
                    spans = [
                        (s / 1000, e / 1000, v)
                        for s, e, v in eaf.get_annotation_data_for_tier(word)
                    ]
                else:
                    grid = textgrid.openTextgrid(str(target), includeEmptyIntervals=False)
                    spans = [(e.start, e.end, e.label) for e in grid.getTier(word).entries]
                for start, end, label in spans:
                    found[(recording, round(start, 3), round(end, 3))] = float(label.split()[-1])
        assert set(found) == set(shown), fmt
        assert all(abs(found[key] - shown[key]) < 1e-3 for key in shown)
    assert "exported" in driver.find_element("id", "status").text


def test_viz_html_map_plays_a_clicked_point(archive_embeddings, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from typer.testing import CliRunner

    from seqae.cli import app

    paths = chromium_paths()
    if paths is None:
        pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver)")
    out = tmp_path / "map.html"
    result = CliRunner().invoke(app, ["viz", str(archive_embeddings), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with headless_chromium(paths) as driver:
        driver.get(out.as_uri())
        wait_for(driver, "document.querySelector('#map .main-svg') !== null")
        point = driver.find_elements("css selector", "#map .scatterlayer .points path")[0]
        ActionChains(driver).move_to_element(point).click().perform()
        wait_for(driver, "document.getElementById('segment-player').readyState >= 1")
        src = driver.execute_script("return document.getElementById('segment-player').currentSrc")
    assert src.startswith("file:///") and ".wav#t=" in src


def screenshot(index: Path, clip: Path, out: Path) -> None:
    """Search ``index`` with ``clip`` in the page, play the top hit, save a screenshot."""
    paths = chromium_paths()
    if paths is None:
        raise SystemExit("Chromium is not installed (apt-get install chromium chromium-driver)")
    with running_server(index) as base, headless_chromium(paths) as driver:
        open_page(driver, base)
        hits = search_clip(driver, clip)
        heard = play_hit(driver, 1)
        fit_window(driver)
        time.sleep(0.5)  # let the map redraw its marks
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
    print(json.dumps({"hits": hits[:TOP], "played": heard, "screenshot": str(out)}))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit("usage: python -m tests.test_browser INDEX CLIP OUT.png")
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
