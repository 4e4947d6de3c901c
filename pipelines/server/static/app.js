// The search page: clips of one term (uploaded or recorded) or a sentence go to POST /search;
// the hits are listed with a play button each, drawn on a strip per recording (recordings.js),
// marked with the query on the embedding map, and can be exported for ELAN or Praat.
"use strict";

const SERVER_FORMATS = /\.(wav|flac|ogg|oga)$/i;
const MAX_CLASSES = 60; // beyond this many labels the map is drawn in one colour
const page = { info: null, map: null, hits: [], recordings: [], query: null, recorder: null };
const $ = (id) => document.getElementById(id);

function setStatus(message, isError) {
  $("status").textContent = message;
  $("status").className = isError ? "error" : "";
}

async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(await reason(response));
  return response.json();
}

async function reason(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("; ");
  } catch (error) {
    // not JSON: fall through to the status line
  }
  return `${response.status} ${response.statusText}`;
}

async function start() {
  try {
    page.info = await getJson("/info");
  } catch (error) {
    setStatus(`cannot reach the index: ${error.message}`, true);
    return;
  }
  const info = page.info;
  $("index-info").textContent =
    `index ${info.index}: ${info.vectors.toLocaleString()} ${info.modality === "text" ? "sentences" : "segments"}` +
    `, model ${info.model_id}`;
  const limits = info.limits;
  $("k").max = limits.max_k;
  if (info.modality === "text") {
    $("text-query").hidden = false;
    $("text-query").addEventListener("submit", (event) => {
      event.preventDefault();
      searchText($("sentence").value);
    });
  } else {
    $("audio-query").hidden = false;
    $("rerank-option").hidden = !info.rerank;
    $("fusion-option").hidden = false;
    $("clip").addEventListener("change", () => {
      if ($("clip").files.length) searchFiles([...$("clip").files]);
    });
    $("record").addEventListener("click", toggleRecording);
    $("player").addEventListener("timeupdate", moveClipCursor);
    for (const button of document.querySelectorAll("#exports button.export")) {
      button.addEventListener("click", () => exportHits(button.dataset.format));
    }
    $("limits").textContent =
      `Up to ${limits.max_clips} clips of one term at once (examples of it, searched as one query), ` +
      `each of up to ${limits.max_seconds} s, ${(limits.max_upload_bytes / 1048576).toFixed(1)} MB in all ` +
      "(WAV, FLAC or OGG; other formats your browser can play are converted here first).";
  }
  if (info.map) {
    try {
      page.map = await getJson("/map");
      drawMap();
    } catch (error) {
      $("map-note").textContent = `no map: ${error.message}`;
    }
  } else {
    $("map-note").textContent = "This index cannot give back its vectors, so it has no map.";
  }
  document.body.dataset.ready = "true";
}

async function readable(file) {
  if (SERVER_FORMATS.test(file.name)) return file;
  setStatus(`converting ${file.name} to WAV…`);
  try {
    return new File([await decodeToWav(await file.arrayBuffer())], `${file.name}.wav`, {
      type: "audio/wav",
    });
  } catch (error) {
    return file; // the server says what is wrong with it
  }
}

async function searchFiles(files) {
  const uploads = [];
  for (const file of files) uploads.push(await readable(file));
  showQueryAudio(uploads[0]);
  const form = new FormData();
  for (const upload of uploads) form.append("file", upload, upload.name);
  form.append("fusion", $("fusion").value);
  await runSearch(form, uploads.length === 1 ? uploads[0].name : `${uploads.length} clips`);
}

async function searchText(sentence) {
  const form = new FormData();
  form.append("text", sentence);
  await runSearch(form, `“${sentence}”`);
}

async function runSearch(form, what) {
  form.append("k", $("k").value || "10");
  if (!$("rerank-option").hidden && $("rerank").checked) form.append("rerank", "dtw");
  setStatus(`searching for ${what}…`);
  document.body.dataset.searching = "true";
  try {
    const response = await fetch("/search", { method: "POST", body: form });
    if (!response.ok) throw new Error(await reason(response));
    const result = await response.json();
    page.hits = result.hits;
    page.recordings = result.recordings || [];
    page.query = result.query;
    showHits(result.hits);
    showQueryClips(result.query);
    showRecordings(page.recordings, result.hits);
    showExports(result.query, result.hits);
    markMap(result.query, result.hits);
    setStatus(`${result.hits.length} hits for ${what} in ${result.seconds.toFixed(3)} s`);
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    document.body.dataset.searching = "false";
  }
}

function showQueryAudio(blob) {
  const audio = $("query-audio");
  if (audio.src) URL.revokeObjectURL(audio.src);
  audio.src = URL.createObjectURL(blob);
  audio.hidden = false;
}

function showQueryClips(query) {
  const note = $("query-clips");
  if (!query.files) {
    note.textContent = "";
    return;
  }
  const count = query.files.length;
  note.textContent = count === 1
    ? `1 clip sent: ${query.files[0]} (${query.seconds.toFixed(2)} s)`
    : `${count} clips sent as one query (${query.fusion}): ${query.files.join(", ")} ` +
      `(${query.seconds.toFixed(2)} s in all)`;
  note.dataset.count = count;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function showHits(hits) {
  const body = document.querySelector("#hits tbody");
  body.replaceChildren();
  for (const hit of hits) {
    const row = document.createElement("tr");
    row.dataset.id = hit.id;
    row.dataset.label = hit.label ?? "";
    cell(row, hit.rank, "number");
    cell(row, hit.score.toFixed(3), "number");
    cell(row, hit.label ?? hit.text ?? "");
    cell(row, hit.path ?? hit.file ?? (hit.line !== undefined ? `line ${hit.line}` : ""));
    cell(row, hit.start !== undefined && hit.start !== null ? `${hit.start.toFixed(2)}–${(hit.end ?? 0).toFixed(2)}` : "");
    const actions = cell(row, "");
    if (hit.audio) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "play";
      button.textContent = "▶ play";
      button.addEventListener("click", () => playHit(hit));
      actions.appendChild(button);
    }
    body.appendChild(row);
  }
}

function markPlaying(id) {
  document.querySelectorAll(".playing").forEach((element) => element.classList.remove("playing"));
  if (id === null) return;
  document.querySelectorAll(`#hits tr[data-id="${id}"], #strips .mark[data-id="${id}"]`)
    .forEach((element) => element.classList.add("playing"));
}

function play(id, url) {
  const player = $("player");
  player.src = url;
  player.play().catch((error) => setStatus(`cannot play segment ${id}: ${error.message}`, true));
}

// A map point: the segment alone.
function playSegment(id) {
  page.playing = null;
  markPlaying(null);
  $("playing").hidden = true;
  play(id, `/segments/${id}/audio`);
}

async function toggleRecording() {
  const button = $("record");
  if (page.recorder) {
    page.recorder.stop();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    setStatus(`no microphone: ${error.message}`, true);
    return;
  }
  const chunks = [];
  const recorder = new MediaRecorder(stream);
  page.recorder = recorder;
  recorder.addEventListener("dataavailable", (event) => chunks.push(event.data));
  recorder.addEventListener("stop", async () => {
    stream.getTracks().forEach((track) => track.stop());
    clearTimeout(page.recordTimer);
    page.recorder = null;
    button.textContent = "Record";
    button.classList.remove("recording");
    $("record-status").textContent = "";
    try {
      const recorded = new Blob(chunks, { type: recorder.mimeType });
      const wav = await decodeToWav(await recorded.arrayBuffer());
      await searchFiles([new File([wav], "recording.wav", { type: "audio/wav" })]);
    } catch (error) {
      setStatus(`cannot read the recording: ${error.message}`, true);
    }
  });
  recorder.start();
  button.textContent = "Stop";
  button.classList.add("recording");
  $("record-status").textContent = "recording…";
  // stop a little before the server's limit on clip length
  page.recordTimer = setTimeout(() => recorder.state === "recording" && recorder.stop(),
    Math.max(1000, (page.info.limits.max_seconds - 0.5) * 1000));
}

function palette(count) {
  const colours = [];
  for (let i = 0; i < count; i++) colours.push(`hsl(${Math.round((i * 137.508) % 360)}, 60%, ${i % 2 ? 45 : 60}%)`);
  return colours;
}

function drawMap() {
  const map = page.map;
  const names = [...new Set(map.labels)].sort();
  const traces = [];
  const hover = "<b>%{text}</b><br>segment %{customdata}<extra></extra>";
  if (names.length <= MAX_CLASSES) {
    const colours = palette(names.length);
    names.forEach((name, i) => {
      const rows = map.labels.flatMap((label, row) => (label === name ? [row] : []));
      traces.push({
        type: "scatter", mode: "markers", name,
        x: rows.map((r) => map.x[r]), y: rows.map((r) => map.y[r]),
        text: rows.map((r) => map.labels[r]), customdata: rows.map((r) => map.ids[r]),
        marker: { size: 6, color: colours[i], opacity: 0.75 }, hovertemplate: hover,
      });
    });
  } else {
    traces.push({
      type: "scatter", mode: "markers", name: "segments", x: map.x, y: map.y,
      text: map.labels, customdata: map.ids,
      marker: { size: 5, color: "#7a8ca3", opacity: 0.6 }, hovertemplate: hover,
    });
  }
  page.baseTraces = traces.length;
  const layout = {
    margin: { l: 20, r: 20, t: 36, b: 20 },
    xaxis: { showticklabels: false, zeroline: false },
    yaxis: { showticklabels: false, zeroline: false },
    legend: { title: { text: map.column }, font: { size: 10 } },
    hovermode: "closest",
  };
  Plotly.newPlot("map", traces, layout, { responsive: true, displaylogo: false });
  $("map").on("plotly_click", (event) => {
    const id = event.points[0].customdata;
    if (id !== undefined && page.info.modality === "audio") playSegment(id);
  });
  $("map-note").textContent =
    `${map.ids.length.toLocaleString()} of ${map.total.toLocaleString()} segments on their first two ` +
    `principal axes (PCA), coloured by ${map.column}; click a point to hear it. Two axes keep ` +
    "only the broad layout: near neighbours in the index can lie apart here.";
}

function markMap(query, hits) {
  if (!page.map) return;
  const plot = $("map");
  const extra = plot.data.length - page.baseTraces;
  if (extra > 0) Plotly.deleteTraces(plot, [...Array(extra).keys()].map((i) => page.baseTraces + i));
  const placed = hits.filter((hit) => hit.x !== undefined);
  const traces = [{
    type: "scatter", mode: "markers", name: "hits",
    x: placed.map((h) => h.x), y: placed.map((h) => h.y),
    text: placed.map((h) => `#${h.rank} ${h.label ?? ""}`), customdata: placed.map((h) => h.id),
    marker: { size: 13, color: "rgba(0,0,0,0)", line: { color: "#111", width: 2 } },
    hovertemplate: "<b>%{text}</b><extra>hit</extra>",
  }];
  if (query && query.x !== undefined) {
    traces.push({
      type: "scatter", mode: "markers", name: "query", x: [query.x], y: [query.y],
      marker: { size: 20, symbol: "star", color: "#e31a1c", line: { color: "#111", width: 1 } },
      hovertemplate: "<b>query</b><extra></extra>",
    });
  }
  Plotly.addTraces(plot, traces);
}

start();
