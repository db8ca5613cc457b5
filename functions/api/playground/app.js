// Avatarsmith playground: talks to this API (same origin) with the key pasted into "API key".
// The key is kept in sessionStorage only. No inline code, no external assets (see the page's CSP).
"use strict";

const KEY_STORAGE = "avatarsmith.apiKey";
const TERMINAL = new Set(["completed", "failed", "canceled"]);
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function apiKey() {
  return $("api-key").value.trim();
}

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(`${error.code || "http_" + status}: ${error.message || "request failed"}`);
    this.status = status;
    this.code = error.code;
  }
}

async function api(method, path, { body, idempotencyKey, prefer } = {}) {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  if (prefer) headers.Prefer = prefer;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch (_err) {
    parsed = null;
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

function showMessage(text) {
  const box = $("message");
  box.textContent = text || "";
  box.hidden = !text;
}

// --- tabs -------------------------------------------------------------------------------------------
const loaders = {};
function selectTab(tab) {
  for (const button of document.querySelectorAll("[role=tab]")) {
    const selected = button === tab;
    button.setAttribute("aria-selected", String(selected));
    $(button.getAttribute("aria-controls")).hidden = !selected;
  }
  const load = loaders[tab.id];
  if (load) load();
}

// --- catalog: styles (with previews) and models -------------------------------------------------------
let chosenStyle = "";
function renderStyles(styles) {
  const box = $("styles");
  box.replaceChildren();
  const options = [{ name: "", title: "Automatic", description: "Let the prompt decide" }, ...styles];
  for (const style of options) {
    const card = el(
      "button",
      { type: "button", class: "style", role: "radio", "aria-checked": String(style.name === chosenStyle),
        title: style.description || "", "data-style": style.name },
      style.name ? el("img", { src: `/playground/previews/${style.name}.webp`, alt: "" }) : null,
      el("span", { text: style.title || style.name }),
    );
    card.addEventListener("click", () => {
      chosenStyle = style.name;
      for (const other of box.children) other.setAttribute("aria-checked", String(other === card));
    });
    box.append(card);
  }
}

function noModels(text) {
  // The model list needs a key (GET /v1/models is per tenant): say so instead of an empty list.
  const select = $("model");
  select.replaceChildren(el("option", { value: "", text }));
  select.disabled = true;
}

function credits(n) {
  return `${n} credit${n === 1 ? "" : "s"}`;
}

async function refreshBalance() {
  if (!apiKey()) return;
  try {
    const account = await api("GET", "/v1/account");
    $("key-status").textContent = `balance: ${account.balance} credits`;
  } catch (err) {
    $("key-status").textContent = err.message;
  }
}

async function loadCatalog() {
  if (!apiKey()) {
    $("key-status").textContent = "paste a key to start";
    renderStyles([]);
    noModels("enter a key to list models");
    return;
  }
  try {
    const [styles, models] = await Promise.all([api("GET", "/v1/styles"), api("GET", "/v1/models")]);
    renderStyles(styles.data);
    const select = $("model");
    select.replaceChildren();
    select.disabled = false;
    for (const model of models.data) {
      const option = el("option", { value: model.id, text: `${model.id} · ${credits(model.credits_per_variation)}` });
      option.title = model.description || model.id;
      if (model.default) option.selected = true;
      select.append(option);
    }
  } catch (err) {
    noModels("models could not be listed");
    $("key-status").textContent = err.message;
    return;
  }
  await refreshBalance();
}

// --- the generate request, and the same request as curl / Python -----------------------------------------
function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function buildRequest() {
  const body = {};
  const prompt = $("prompt").value.trim();
  if (prompt) body.prompt = prompt;
  if (chosenStyle) body.style = chosenStyle;
  if ($("model").value) body.model = $("model").value;
  const attributes = {};
  for (const name of ["gender", "age", "ethnicity", "pose"]) {
    const value = $(name).value.trim();
    if (value) attributes[name] = value;
  }
  if (Object.keys(attributes).length) body.attributes = attributes;
  body.output = { aspect_ratio: $("aspect-ratio").value };
  body.num_variations = Number($("variations").value || 1);
  if ($("seed").value !== "") body.seed = Number($("seed").value);
  const files = Array.from($("references").files || []);
  if (files.length) body.reference_images = await Promise.all(files.map(readFile));
  return body;
}

function shellQuote(text) {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

function curlSnippet(body) {
  return [
    `curl -s -X POST ${location.origin}/v1/avatars/generate \\`,
    `  -H "Authorization: Bearer $AVATARSMITH_API_KEY" -H "Content-Type: application/json" \\`,
    `  -d ${shellQuote(JSON.stringify(body))}`,
  ].join("\n");
}

function pythonLiteral(value) {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v)}`).join(", ")}}`;
  }
  return JSON.stringify(value);
}

function pythonSnippet(body) {
  const args = Object.entries(body).map(([k, v]) => `    ${k}=${pythonLiteral(v)},`);
  return [
    "# The SDK, installed from the root of a clone of this repository:",
    "#   pip install ./clients/python",
    "from avatarsmith_client import Client",
    "",
    `client = Client(base_url=${JSON.stringify(location.origin)})  # the key comes from AVATARSMITH_API_KEY`,
    "job = client.generate(",
    ...args,
    "    wait=True,",
    ")",
    "for avatar in job.avatars:",
    '    print(avatar.download("."))',
  ].join("\n");
}

async function copySnippet(kind) {
  const body = await buildRequest();
  const text = kind === "curl" ? curlSnippet(body) : pythonSnippet(body);
  const box = $("snippet");
  box.textContent = text;
  box.hidden = false;
  box.dataset.kind = kind;
  try {
    await navigator.clipboard.writeText(text);
  } catch (_err) {
    // Clipboard access may be refused (permissions, insecure origin): the snippet is shown below.
  }
}

// --- a job: submit, then follow it with held reads ----------------------------------------------------
function imageCard(src, caption, jobId, index) {
  const card = el("div", { class: "card" });
  const img = el("img", { src, alt: caption, loading: "lazy" });
  const download = el("a", { href: src, download: `${jobId}-${index}`, target: "_blank", rel: "noopener", text: "Download" });
  const row = el("div", { class: "row" }, el("span", { class: "muted", text: caption }), download);
  card.append(img, row);
  return card;
}

function renderJob(job, startedAt) {
  $("job").hidden = false;
  const done = job.avatars.filter((a) => a.status === "completed").length;
  $("job-status").textContent = `${job.id}: ${job.status}`;
  $("job-progress").textContent =
    `${((Date.now() - startedAt) / 1000).toFixed(1)} s, ${done}/${job.avatars.length} variations`;
  const error = $("job-error");
  error.hidden = !job.error;
  error.textContent = job.error ? `${job.error.code}: ${job.error.message}` : "";
  const results = $("results");
  for (const avatar of job.avatars) {
    if (!avatar.image_url || results.querySelector(`[data-index="${avatar.index}"]`)) continue;
    const card = imageCard(avatar.image_url, `variation ${avatar.index}`, job.id, avatar.index);
    card.dataset.index = String(avatar.index);
    const label = el("input", { "aria-label": "Label", value: `avatar ${avatar.index}`, maxlength: "100" });
    const save = el("button", { type: "button", text: "Save" });
    save.addEventListener("click", async () => {
      save.disabled = true;
      try {
        const saved = await api("POST", "/v1/avatars/save", {
          body: { job_id: job.id, variation: avatar.index, label: label.value.trim() || `avatar ${avatar.index}` },
          idempotencyKey: crypto.randomUUID(),
        });
        save.textContent = `Saved ${saved.id}`;
      } catch (err) {
        save.disabled = false;
        showMessage(err.message);
      }
    });
    card.append(el("div", { class: "row" }, label, save));
    results.append(card);
  }
}

async function generate(event) {
  event.preventDefault();
  showMessage("");
  if (!apiKey()) {
    showMessage("Paste your API key first.");
    $("api-key").focus();
    return;
  }
  const button = $("generate");
  button.disabled = true;
  $("results").replaceChildren();
  const startedAt = Date.now();
  let job = null;
  const ticker = setInterval(() => job && renderJob(job, startedAt), 250);
  try {
    const body = await buildRequest();
    job = await api("POST", "/v1/avatars/generate", { body, idempotencyKey: crypto.randomUUID() });
    renderJob(job, startedAt);
    let pause = 500;
    while (!TERMINAL.has(job.status)) {
      const asked = Date.now();
      job = await api("GET", `/v1/jobs/${encodeURIComponent(job.id)}`, { prefer: "wait=25" });
      renderJob(job, startedAt);
      if (!TERMINAL.has(job.status) && Date.now() - asked < 1000) {
        // The read was not held (a proxy or an older server): poll, slowing down to every 5 s.
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 1.5, 5000);
      }
    }
  } catch (err) {
    showMessage(err.message);
  } finally {
    clearInterval(ticker);
    if (job) renderJob(job, startedAt);
    button.disabled = false;
    refreshBalance(); // the job's charge (or refund) shows at once
  }
}

// --- the lists ---------------------------------------------------------------------------------------
async function loadJobs() {
  const list = $("jobs");
  try {
    const page = await api("GET", "/v1/jobs?limit=20");
    list.replaceChildren(
      ...page.data.map((job) => {
        const thumb = job.avatars.find((a) => a.thumbnail_url || a.image_url);
        return el(
          "li",
          { "data-job": job.id },
          thumb ? el("img", { src: thumb.thumbnail_url || thumb.image_url, alt: "" }) : null,
          el("span", { text: `${job.id} · ${job.status} · ${job.created_at}` }),
          el("span", { class: "muted", text: (job.request && job.request.prompt) || "" }),
        );
      }),
    );
  } catch (err) {
    list.replaceChildren(el("li", { class: "error", text: err.message }));
  }
}

async function loadGallery(boxId, path, emptyText) {
  const box = $(boxId);
  try {
    const page = await api("GET", path);
    if (!page.data.length) {
      box.replaceChildren(el("p", { class: "muted", text: emptyText }));
      return;
    }
    box.replaceChildren(
      ...page.data.map((avatar) => {
        const card = imageCard(avatar.thumbnail_url || avatar.image_url, avatar.label || avatar.id, avatar.job_id, avatar.variation);
        if (boxId === "saved") card.append(savedActions(avatar, card));
        return card;
      }),
    );
  } catch (err) {
    const text = err.status === 404 && err.code === "not_found" && path.startsWith("/v1/community")
      ? "The community gallery is not available on this server."
      : err.message;
    box.replaceChildren(el("p", { class: "error", text }));
  }
}

// Publish / unpublish / delete on a saved avatar (each answers the avatar, or deleted: true).
function savedActions(avatar, card) {
  card.dataset.avatar = avatar.id;
  const state = el("span", { class: "muted", text: avatar.published ? "published" : "private" });
  const publish = el("button", { type: "button", text: avatar.published ? "Unpublish" : "Publish" });
  const remove = el("button", { type: "button", class: "danger", text: "Delete" });
  let published = Boolean(avatar.published);
  publish.addEventListener("click", async () => {
    publish.disabled = true;
    try {
      const verb = published ? "unpublish" : "publish";
      const updated = await api("POST", `/v1/avatars/${encodeURIComponent(avatar.id)}/${verb}`);
      published = Boolean(updated.published);
      publish.textContent = published ? "Unpublish" : "Publish";
      state.textContent = published ? "published" : "private";
    } catch (err) {
      showSavedMessage(err.message);
    } finally {
      publish.disabled = false;
    }
  });
  remove.addEventListener("click", async () => {
    if (!window.confirm(`Delete ${avatar.label || avatar.id}? Its image copy is deleted too.`)) return;
    remove.disabled = true;
    try {
      await api("DELETE", `/v1/avatars/${encodeURIComponent(avatar.id)}`);
      card.remove();
      if (!$("saved").querySelector(".card")) $("saved").replaceChildren(el("p", { class: "muted", text: "No saved avatars yet." }));
    } catch (err) {
      remove.disabled = false;
      showSavedMessage(err.message);
    }
  });
  return el("div", { class: "row actions-row" }, state, publish, remove);
}

function showSavedMessage(text) {
  const box = $("saved-message");
  box.textContent = text || "";
  box.hidden = !text;
}

loaders["tab-jobs"] = loadJobs;
loaders["tab-saved"] = () => loadGallery("saved", "/v1/avatars?limit=50", "No saved avatars yet.");
loaders["tab-community"] = () => loadGallery("community", "/v1/community?limit=50", "Nothing published yet.");

// --- wiring ------------------------------------------------------------------------------------------
function start() {
  const keyInput = $("api-key");
  keyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";
  let timer = null;
  keyInput.addEventListener("input", () => {
    sessionStorage.setItem(KEY_STORAGE, apiKey());
    clearTimeout(timer);
    timer = setTimeout(loadCatalog, 300);
  });
  for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => selectTab(tab));
  $("generate-form").addEventListener("submit", generate);
  $("copy-curl").addEventListener("click", () => copySnippet("curl"));
  $("copy-python").addEventListener("click", () => copySnippet("python"));
  $("refresh-jobs").addEventListener("click", loadJobs);
  $("refresh-saved").addEventListener("click", loaders["tab-saved"]);
  $("refresh-community").addEventListener("click", loaders["tab-community"]);
  loadCatalog();
}

start();
