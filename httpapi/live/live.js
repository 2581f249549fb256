// The live counter page: it opens Tally's counter stream with EventSource
// and shows each group's counters as they change. It reads its details from
// the address's fragment (#sdkappid=…&identifier=…&usersig=…&GroupId=…),
// which the browser never sends to a server, or from the form; it holds no
// secret key and signs nothing. Everything it shows goes through
// textContent, never HTML, since group ids and keys are the users' own.
"use strict";

// The stream's path, relative to this page's, so that the page works behind
// a proxy that serves Tally under a prefix.
const streamPath = "../stream/group_counter";
// Refusals that may pass by themselves, so are retried: the server failed,
// a group does not exist yet (the development banner's page is opened
// before its curl line creates the group), a rate limit.
const retriedCodes = new Set([10002, 10010, 60007, 60011]);
const maxRetryDelay = 10000;

const statusEl = document.getElementById("status");
const form = document.getElementById("watch");
const board = document.getElementById("groups");

let watch = null; // {sdkappid, identifier, usersig, groups}
let source = null; // the open EventSource
let retryTimer = 0;
let failures = 0; // refusals in a row, for the retry's back-off
let groups = new Map(); // GroupId -> {section, seqEl, stateEl, empty, tbody, rows: Map(key -> tr), destroyed}
let seen = new Set(); // groups whose first message the current connection has brought

function setStatus(state, text) {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

// readFragment returns the details the address's fragment names, or null.
function readFragment() {
  const p = new URLSearchParams(location.hash.replace(/^#/, ""));
  const w = {
    sdkappid: p.get("sdkappid") || "",
    identifier: p.get("identifier") || "",
    usersig: p.get("usersig") || "",
    groups: unique(p.getAll("GroupId")),
  };
  fillForm(w);
  return w.sdkappid && w.identifier && w.usersig && w.groups.length ? w : null;
}

function unique(ids) {
  return [...new Set(ids.filter((id) => id !== ""))];
}

function fillForm(w) {
  form.elements.sdkappid.value = w.sdkappid;
  form.elements.identifier.value = w.identifier;
  form.elements.usersig.value = w.usersig;
  form.elements.GroupId.value = w.groups.join("\n");
}

function fragmentOf(w) {
  const p = new URLSearchParams({ sdkappid: w.sdkappid, identifier: w.identifier, usersig: w.usersig });
  for (const id of w.groups) p.append("GroupId", id);
  return "#" + p.toString();
}

// streamURL is the stream's address for the groups ids, as the user watched.
function streamURL(ids) {
  const p = new URLSearchParams({ sdkappid: watch.sdkappid, identifier: watch.identifier, usersig: watch.usersig });
  for (const id of ids) p.append("GroupId", id);
  return new URL(streamPath + "?" + p.toString(), location.href).href;
}

// start watches w from scratch: a new board, a new stream.
function start(w) {
  stop();
  watch = w;
  failures = 0;
  groups = new Map();
  board.replaceChildren();
  for (const id of w.groups) addGroup(id);
  open();
}

function stop() {
  clearTimeout(retryTimer);
  if (source) source.close();
  source = null;
}

// open opens the stream of the groups still there. EventSource reconnects
// by itself after the connection drops; open is called again only after a
// refusal, or to leave destroyed groups out of the address.
function open() {
  stop();
  const ids = watch.groups.filter((id) => !groups.get(id).destroyed);
  if (ids.length === 0) {
    setStatus("ended", "Every group was destroyed; the stream has ended.");
    return;
  }
  const url = streamURL(ids);
  setStatus("connecting", "Connecting…");
  const es = new EventSource(url);
  source = es;
  es.onopen = () => {
    // Each connection starts over with a snapshot of every group.
    seen = new Set();
    failures = 0;
    setStatus("live", "Live: " + ids.length + (ids.length === 1 ? " group" : " groups") + ".");
  };
  es.onmessage = (e) => apply(parse(e.data));
  es.onerror = () => {
    if (source !== es) return;
    if (es.readyState === EventSource.CONNECTING) {
      // A stream that watched a group now destroyed would be refused
      // (10010) on reconnecting: reopen without it.
      if (ids.some((id) => groups.get(id).destroyed)) {
        open();
        return;
      }
      setStatus("connecting", "Connection lost; reconnecting…");
      return;
    }
    // The server answered something other than a stream: a refusal,
    // whose envelope EventSource cannot show; fetch it to find out.
    es.close();
    source = null;
    explain(url);
  };
}

// parse decodes a message; where the browser can, a counter's value is kept
// as the digits sent, since an int64 may exceed what a Number holds exactly.
function parse(data) {
  return JSON.parse(data, function (key, value, context) {
    return key === "Value" && context && typeof context.source === "string" ? context.source : value;
  });
}

// explain fetches the stream's address again to read why it was refused,
// shows the ErrorCode and ErrorInfo, and retries the refusals that may
// pass.
async function explain(url) {
  const w = watch;
  const ctl = new AbortController();
  let code = 0;
  let text;
  try {
    const resp = await fetch(url, { signal: ctl.signal, cache: "no-store" });
    if ((resp.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
      // Let in this time: whatever failed has passed.
      ctl.abort();
      text = "The stream failed; retrying";
    } else {
      const env = await resp.json();
      code = env.ErrorCode;
      text = "Refused: " + env.ErrorCode + " " + env.ErrorInfo;
    }
  } catch (err) {
    text = "The server cannot be reached";
  }
  if (watch !== w) return; // the user has started watching something else
  if (code !== 0 && !retriedCodes.has(code)) {
    setStatus("error", text + ".");
    return;
  }
  const delay = Math.min(1000 * 2 ** failures, maxRetryDelay);
  failures++;
  setStatus("error", text + "; retrying in " + Math.round(delay / 1000) + " s.");
  retryTimer = setTimeout(open, delay);
}

// apply applies one message: set GroupCounter's keys, remove Deleted's. A
// group's first message of a connection holds all its counters, so a key
// shown that it lacks was deleted while the page was not connected.
function apply(m) {
  const g = groups.get(m.GroupId);
  if (!g) return;
  g.seqEl.textContent = "Seq " + m.Seq;
  if (m.Destroyed) {
    g.destroyed = true;
    g.section.classList.add("destroyed");
    g.stateEl.textContent = "destroyed";
    return;
  }
  const set = m.GroupCounter || [];
  if (!seen.has(m.GroupId)) {
    seen.add(m.GroupId);
    const keys = new Set(set.map((c) => c.Key));
    for (const key of g.rows.keys()) if (!keys.has(key)) markDeleted(g, key);
  }
  for (const c of set) setCounter(g, c.Key, String(c.Value));
  for (const key of m.Deleted || []) markDeleted(g, key);
  g.empty.hidden = [...g.rows.values()].some((tr) => !tr.classList.contains("deleted"));
}

function addGroup(id) {
  const section = el("section", "group");
  section.dataset.group = id;
  const h = el("h2");
  const seqEl = el("span", "seq", "waiting for the first message");
  const stateEl = el("span", "state");
  h.append(el("span", "id", id), seqEl, stateEl);
  const empty = el("p", "empty", "No counters.");
  empty.hidden = true;
  const tbody = el("tbody");
  const table = el("table");
  table.append(tbody);
  section.append(h, empty, table);
  board.append(section);
  groups.set(id, { section, seqEl, stateEl, empty, tbody, rows: new Map(), destroyed: false });
}

function setCounter(g, key, value) {
  let tr = g.rows.get(key);
  if (!tr) {
    tr = el("tr");
    tr.dataset.key = key;
    tr.append(el("th", "key", key), el("td", "value"), el("td", "note"));
    // Rows stay in key order, so that a counter keeps its place.
    const after = [...g.rows.keys()].sort().find((k) => k > key);
    g.tbody.insertBefore(tr, after === undefined ? null : g.rows.get(after));
    g.rows.set(key, tr);
  }
  const td = tr.querySelector(".value");
  const changed = td.textContent !== value || tr.classList.contains("deleted");
  td.textContent = value;
  tr.classList.remove("deleted");
  if (changed) {
    // Restart the highlight's animation.
    tr.classList.remove("changed");
    void tr.offsetWidth;
    tr.classList.add("changed");
  }
}

function markDeleted(g, key) {
  const tr = g.rows.get(key);
  if (tr) tr.classList.add("deleted");
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const w = {
    sdkappid: form.elements.sdkappid.value.trim(),
    identifier: form.elements.identifier.value.trim(),
    usersig: form.elements.usersig.value.trim(),
    groups: unique(form.elements.GroupId.value.split(/\r?\n/)),
  };
  if (w.groups.length === 0) return;
  // The details go in the fragment, so that the address can be kept or
  // reloaded; replaceState changes it without a hashchange.
  history.replaceState(null, "", fragmentOf(w));
  start(w);
});

window.addEventListener("hashchange", () => {
  const w = readFragment();
  if (w) start(w);
});

const initial = readFragment();
if (initial) start(initial);
