// Hits in long recordings: each plays with a second of its recording on either side, a strip
// per recording marks where its hits fall, and the hits can be exported for other tools.
// Uses page, $, setStatus, reason, play and markPlaying from app.js.
"use strict";

const CONTEXT_SECONDS = 1; // of the recording played before and after a hit

function playHit(hit) {
  const url = `${hit.audio}?context=${CONTEXT_SECONDS}`;
  page.playing = url;
  markPlaying(hit.id);
  play(hit.id, url);
  describeClip(hit, url);
}

// Where the hit lies in the clip the server sent: its answer's X-Hit-* headers (read here
// with a HEAD request, as an <audio> element does not show its response's headers).
async function describeClip(hit, url) {
  let response;
  try {
    response = await fetch(url, { method: "HEAD" });
  } catch (error) {
    return;
  }
  if (!response.ok || page.playing !== url) return;
  const seconds = (name) => parseFloat(response.headers.get(name));
  const clip = {
    start: seconds("X-Clip-Start"), end: seconds("X-Clip-End"),
    hitStart: seconds("X-Hit-Start"), hitEnd: seconds("X-Hit-End"),
  };
  page.clip = clip;
  const length = Math.max(clip.end - clip.start, 1e-3);
  const shown = $("clip-hit");
  shown.style.left = `${(100 * clip.hitStart) / length}%`;
  shown.style.width = `${(100 * (clip.hitEnd - clip.hitStart)) / length}%`;
  const box = $("playing");
  box.hidden = false;
  box.dataset.id = hit.id;
  box.dataset.hitStart = clip.hitStart;
  box.dataset.hitEnd = clip.hitEnd;
  $("clip-note").textContent =
    `playing #${hit.rank}: hit at ${clip.hitStart.toFixed(2)}–${clip.hitEnd.toFixed(2)} s of this ` +
    `clip, which is ${clip.start.toFixed(2)}–${clip.end.toFixed(2)} s of ${hit.path}`;
  moveClipCursor();
}

function moveClipCursor() {
  const clip = page.clip;
  if (!clip || $("playing").hidden) return;
  const length = Math.max(clip.end - clip.start, 1e-3);
  const at = Math.min(1, $("player").currentTime / length);
  $("clip-cursor").style.left = `${100 * at}%`;
}

// One strip per recording, all on one time scale (the longest recording fills the width).
function showRecordings(recordings, hits) {
  const strips = $("strips");
  strips.replaceChildren();
  const timed = hits.filter((hit) => hit.audio && hit.path !== undefined);
  $("recordings").hidden = !recordings.length || !timed.length;
  if ($("recordings").hidden) return;
  const spans = recordings.map((recording) => recording.duration ??
    Math.max(...timed.filter((h) => h.path === recording.path).map((h) => h.end ?? 0)));
  const longest = Math.max(...spans, 1e-3);
  recordings.forEach((recording, i) => {
    const seconds = Math.max(spans[i], 1e-3);
    const row = document.createElement("div");
    row.className = "recording";
    row.dataset.path = recording.path;
    const name = document.createElement("div");
    name.className = "recording-name";
    name.textContent = `${recording.path} (${spans[i].toFixed(2)} s)`;
    const strip = document.createElement("div");
    strip.className = "strip";
    strip.style.width = `${(100 * seconds) / longest}%`;
    for (const hit of timed.filter((h) => h.path === recording.path)) {
      strip.appendChild(hitMark(hit, seconds));
    }
    row.append(name, strip);
    strips.appendChild(row);
  });
  $("recordings-note").textContent =
    `${recordings.length} recording${recordings.length === 1 ? "" : "s"} with hits, drawn to one ` +
    `time scale (${longest.toFixed(1)} s across); click a mark to hear its hit in context.`;
}

function hitMark(hit, seconds) {
  const start = hit.start ?? 0;
  const end = hit.end ?? seconds;
  const mark = document.createElement("button");
  mark.type = "button";
  mark.className = "mark";
  mark.dataset.id = hit.id;
  mark.style.left = `${(100 * start) / seconds}%`;
  mark.style.width = `${(100 * Math.max(0, end - start)) / seconds}%`;
  mark.title = `#${hit.rank}, score ${hit.score.toFixed(3)}: ${start.toFixed(2)}–${end.toFixed(2)} s`;
  mark.setAttribute("aria-label", `play hit ${hit.rank}`);
  mark.addEventListener("click", () => playHit(hit));
  return mark;
}

function showExports(query, hits) {
  const timed = hits.some((hit) => hit.audio);
  $("exports").hidden = !timed;
  if (timed) $("term").value = query.term ?? "query";
}

// The server looks the hits' ids up in its own index and writes the file; the page saves it.
async function exportHits(format) {
  const body = {
    format,
    term: $("term").value,
    hits: page.hits.map((hit) => ({ id: hit.id, score: hit.score })),
  };
  try {
    const response = await fetch("/export", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(await reason(response));
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [null, `hits-${format}`])[1];
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    setStatus(`exported ${page.hits.length} hits as ${name}`);
  } catch (error) {
    setStatus(`cannot export: ${error.message}`, true);
  }
}
