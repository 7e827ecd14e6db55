// The OpenClaw gateway dashboard: polls GET /api/status, chats through /v1/chat/completions.
// Plain browser JavaScript, no build step. Everything shown is set with textContent.
"use strict";

const TOKEN_KEY = "openclaw.gateway.token";
const POLL_MS = 2000;

const state = {
  token: localStorage.getItem(TOKEN_KEY) || "",
  history: [], // the chat so far, in OpenAI's message shape
  busy: false,
};

class AuthError extends Error {}

const $ = (id) => document.getElementById(id);

function authHeaders(extra) {
  const headers = Object.assign({}, extra);
  if (state.token) headers.Authorization = "Bearer " + state.token;
  return headers;
}

async function getJSON(path) {
  const response = await fetch(path, { headers: authHeaders() });
  if (response.status === 401) throw new AuthError("this gateway needs its API token");
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

// columns: [[heading, row => value, className?]]
function fillTable(table, columns, rows, empty) {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const [title] of columns) head.appendChild(element("th", title));
  const body = table.createTBody();
  if (!rows.length) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = columns.length;
    cell.textContent = empty;
    cell.className = "muted";
    return;
  }
  for (const row of rows) {
    const tr = body.insertRow();
    for (const [, value, className] of columns) {
      const cell = tr.insertCell();
      const text = value(row);
      cell.textContent = text === null || text === undefined ? "–" : String(text);
      const extra = typeof className === "function" ? className(row) : className;
      if (extra) cell.className = extra;
    }
  }
}

function gib(bytes) {
  return (bytes / 2 ** 30).toFixed(1) + " GiB";
}

function reachability(provider) {
  if (provider.reachable === true) return `up (${provider.latencyMs} ms)`;
  if (provider.reachable === false) return "down: " + provider.error;
  return provider.available ? "key set (not probed)" : "no key: " + provider.note;
}

function renderStatus(status) {
  $("version").textContent = "v" + status.version;
  const selection = status.selection;
  const chain = [selection.primary || "(no primary)"].concat(selection.fallbacks);
  $("selection").textContent = "Agent models, in order: " + chain.join(" → ") +
    (selection.problems.length ? " — " + selection.problems.join("; ") : "");

  fillTable($("providers"), [
    ["Provider", (p) => p.id],
    ["API", (p) => p.api],
    ["URL", (p) => p.baseUrl],
    ["Health", reachability, (p) => (p.reachable === false ? "down" : p.reachable ? "up" : "")],
    ["Models", (p) => p.models, "num"],
  ], status.providers, "No provider is configured or discovered.");

  fillTable($("models"), [
    ["Model", (m) => m.key],
    ["Context", (m) => m.contextWindow, "num"],
    ["Tools", (m) => (m.tools ? "yes" : "no")],
    ["Reasoning", (m) => (m.reasoning ? "yes" : "no")],
    ["Local", (m) => (m.local ? "yes" : "no")],
  ], status.models, "No model is available.");

  const loaded = [];
  for (const host of status.loaded) {
    if (!host.reachable) loaded.push({ name: host.provider, error: host.error });
    for (const m of host.models) loaded.push(Object.assign({ provider: host.provider }, m));
  }
  fillTable($("loaded"), [
    ["Model", (m) => (m.error ? m.name : `${m.provider}/${m.name}`)],
    ["Size", (m) => (m.error ? m.error : gib(m.size))],
    ["GPU", (m) => (m.error || !m.size ? null : Math.round((100 * m.size_vram) / m.size) + "%")],
    ["Context", (m) => m.context_length, "num"],
    ["Until", (m) => (m.expires_at ? new Date(m.expires_at).toLocaleTimeString() : null)],
  ], loaded, "No model is loaded in memory.");

  $("active-streams").textContent = status.activeStreams;
  fillTable($("activity"), [
    ["Model", (a) => a.model],
    ["Req/min", (a) => a.perMinute, "num"],
    ["First token", (a) => (a.ttftMs === null ? null : a.ttftMs + " ms"), "num"],
    ["Latency", (a) => (a.durationMs === null ? null : a.durationMs + " ms"), "num"],
    ["Tokens/s", (a) => a.tokensPerSecond, "num"],
    ["Errors", (a) => a.errors, "num"],
  ], status.activity.models, "No request yet.");

  const errors = $("errors");
  errors.replaceChildren();
  for (const e of status.activity.errors) {
    const when = new Date(e.at * 1000).toLocaleTimeString();
    const who = e.model ? e.model + " " : "";
    errors.appendChild(element("li", `${when} ${who}[${e.kind}] ${e.message}`));
  }
  if (!status.activity.errors.length) errors.appendChild(element("li", "None.", "muted"));

  const select = $("chat-model");
  const chosen = select.value;
  const keys = ["openclaw"].concat(status.models.map((m) => m.key));
  if (select.options.length !== keys.length || keys.some((k, i) => select.options[i].value !== k)) {
    select.replaceChildren();
    for (const key of keys) {
      const option = element("option", key === "openclaw" ? "openclaw (agent)" : key);
      option.value = key;
      select.appendChild(option);
    }
    if (keys.includes(chosen)) select.value = chosen;
  }
}

function setConnection(text, good) {
  const node = $("connection");
  node.textContent = text;
  node.className = good ? "ok" : "bad";
}

async function refresh() {
  try {
    renderStatus(await getJSON("/api/status"));
    setConnection("connected", true);
  } catch (error) {
    const hint = error instanceof AuthError ? ": type it above (`openclaw gateway token` prints it)" : "";
    setConnection(error.message + hint, false);
  }
}

// --- chat -----------------------------------------------------------------------------------

function addMessage(role, text) {
  const node = element("div", null, "message " + role);
  node.appendChild(element("span", text, role === "assistant" ? "answer" : "question"));
  $("transcript").appendChild(node);
  node.scrollIntoView({ block: "end" });
  return node;
}

// Reads an SSE body and calls onData with each `data:` payload, parsed.
async function readEvents(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (line.startsWith("data: ") && line !== "data: [DONE]") onData(JSON.parse(line.slice(6)));
      }
    }
  }
}

async function send(text) {
  state.busy = true;
  $("chat-send").disabled = true;
  state.history.push({ role: "user", content: text });
  addMessage("user", text);
  const node = addMessage("assistant", "");
  const thinking = node.insertBefore(element("div", null, "thinking"), node.firstChild);
  const answer = node.querySelector(".answer");
  const meta = node.appendChild(element("div", null, "meta"));
  const started = performance.now();
  let content = "";
  let failed = false;
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: authHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({
        model: $("chat-model").value,
        messages: state.history,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error(body && body.error ? body.error.message : `HTTP ${response.status}`);
    }
    await readEvents(response.body, (chunk) => {
      if (chunk.error) {
        failed = true;
        node.appendChild(element("div", chunk.error.message, "error"));
        return;
      }
      const delta = chunk.choices && chunk.choices.length ? chunk.choices[0].delta : null;
      if (delta && delta.reasoning_content) thinking.textContent += delta.reasoning_content;
      if (delta && delta.content) {
        content += delta.content;
        answer.textContent = content;
      }
      if (chunk.usage) {
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        meta.textContent = `${chunk.model} · ${chunk.usage.prompt_tokens} in / ` +
          `${chunk.usage.completion_tokens} out · ${seconds} s`;
      }
    });
  } catch (error) {
    failed = true;
    node.appendChild(element("div", error.message, "error"));
  } finally {
    if (failed && !content) state.history.pop(); // the question can be asked again
    else state.history.push({ role: "assistant", content });
    state.busy = false;
    $("chat-send").disabled = false;
    refresh();
  }
}

// The link `openclaw gateway token --url` prints carries the token after `#token=` (the part
// of a URL browsers never send): keep it like a typed one, then take it out of the address bar.
function tokenFromLink() {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (!match) return;
  state.token = decodeURIComponent(match[1]);
  localStorage.setItem(TOKEN_KEY, state.token);
  history.replaceState(null, "", location.pathname + location.search);
}

function setup() {
  tokenFromLink();
  window.addEventListener("hashchange", () => {
    tokenFromLink();
    $("token").value = state.token;
    refresh();
  });
  $("token").value = state.token;
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    if (state.token) localStorage.setItem(TOKEN_KEY, state.token);
    else localStorage.removeItem(TOKEN_KEY);
    refresh();
  });
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("chat-input").value.trim();
    if (!text || state.busy) return;
    $("chat-input").value = "";
    send(text);
  });
  $("chat-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("chat-form").requestSubmit();
    }
  });
  $("chat-clear").addEventListener("click", () => {
    state.history = [];
    $("transcript").replaceChildren();
  });
  refresh();
  setInterval(refresh, POLL_MS);
}

setup();
