"""The web page of ``seqae serve`` in a real headless Chromium (Debian's chromium and
chromium-driver, driven by selenium): upload a clip of a held-out voice, find its word among the
hits, play one, record from a (fake) microphone.

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
def running_server(index: Path, timeout: float = 120.0) -> Iterator[str]:
    """``seqae serve INDEX`` in a child process on a free port; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "seqae", "serve", str(index), "--port", str(port)]
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
def headless_chromium(paths: tuple[str, str]) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
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


def search_clip(driver, clip: Path) -> list[dict]:
    """Upload a clip through the page's file input; the hits as the page lists them."""
    driver.execute_script("document.querySelector('#hits tbody').replaceChildren()")
    driver.find_element("id", "clip").send_keys(str(clip.resolve()))
    wait_for(driver, "document.querySelectorAll('#hits tbody tr').length > 0")
    return shown_hits(driver)


def play_hit(driver, rank: int = 1) -> dict:
    """Press a hit's play button; the player's state once its audio has loaded."""
    button = driver.find_elements("css selector", "#hits tbody tr button.play")[rank - 1]
    button.click()
    wait_for(driver, "document.getElementById('player').readyState >= 1")
    return driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const player = document.getElementById('player');
        fetch(player.currentSrc).then((r) => done({
            src: player.currentSrc, readyState: player.readyState, duration: player.duration,
            status: r.status, type: r.headers.get('content-type')}));
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
        played = play_hit(driver, 1)
        assert played["readyState"] >= 1 and played["duration"] > 0, played
        assert played["src"].endswith(f"/segments/{hits[0]['id']}/audio")
        assert played["status"] == 200 and played["type"] == "audio/wav"
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
        played = play_hit(driver, 1)
        fit_window(driver)
        time.sleep(0.5)  # let the map redraw its marks
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
    print(json.dumps({"hits": hits[:TOP], "played": played, "screenshot": str(out)}))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit("usage: python -m tests.test_browser INDEX CLIP OUT.png")
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
