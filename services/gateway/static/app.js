// Files manager in the browser: the public API of the same origin, nothing else.
// Every name the API returns is put on the page as text (textContent), never parsed as HTML.

const PAGE_SIZE = 20; // the API's page
const TOKEN_KEY = "files-manager.token"; // sessionStorage: this tab only, gone when it closes
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"]);
const POLL_MS = 1000;
const POLL_LIMIT = 300; // polls of a pending thumbnail before the tile stops asking
const UPLOADS_AT_ONCE = 2;

const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function formatSize(bytes) {
  if (typeof bytes !== "number") return "";
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

// ---- messages -------------------------------------------------------------------------------------

function showError(error) {
  const text = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  $("alert-text").textContent = text || "Something went wrong";
  $("alert").hidden = false;
}

function clearError() {
  $("alert").hidden = true;
  $("alert-text").textContent = "";
}

let noticeTimer = 0;
function notify(text) {
  $("notice").textContent = text;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    $("notice").textContent = "";
  }, 5000);
}

// ---- the API ----------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = await response.json();
    if (body && typeof body.error === "string") message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message);
}

async function api(method, path, { json, headers = {}, auth = true } = {}) {
  const init = { method, headers: { ...headers } };
  if (auth && session.token) init.headers["X-Token"] = session.token;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "The server cannot be reached. Check your connection and try again.");
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && auth && session.token) signedOut("Your session has ended. Log in again.");
    throw error;
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("application/json") ? response.json() : response.blob();
}

function basic(email, password) {
  const bytes = new TextEncoder().encode(`${email}:${password}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

async function dataUrl(file, size) {
  const query = size ? `?size=${size}` : "";
  const blob = await api("GET", `/files/${encodeURIComponent(file.id)}/data${query}`);
  return URL.createObjectURL(blob);
}

// ---- where we are: ?folder=<id>&page=<n> ----------------------------------------------------------------

function place() {
  const params = new URLSearchParams(location.search);
  const page = Number.parseInt(params.get("page") || "0", 10);
  return { folder: params.get("folder") || "0", page: Number.isFinite(page) && page > 0 ? page : 0 };
}

function placeUrl(folder, page) {
  const params = new URLSearchParams();
  if (folder && folder !== "0") params.set("folder", folder);
  if (page > 0) params.set("page", String(page));
  const query = params.toString();
  return query ? `/?${query}` : "/";
}

function go(folder, page = 0) {
  history.pushState(null, "", placeUrl(folder, page));
  render();
}

// ---- signing in and out ---------------------------------------------------------------------------------

let me = null;

function showSignIn() {
  me = null;
  $("who").hidden = true;
  $("browser").hidden = true;
  $("signin").hidden = false;
  document.title = "Log in · Files manager";
}

function signedOut(message) {
  session.token = null;
  stopPolling();
  showSignIn();
  if (message) showError(message);
}

async function logIn(email, password) {
  const answer = await api("GET", "/connect", { headers: { Authorization: basic(email, password) }, auth: false });
  session.token = answer.token;
  history.replaceState(null, "", placeUrl("0", 0));
  await render();
}

function formValues(form) {
  const data = new FormData(form);
  return [String(data.get("email") || "").trim(), String(data.get("password") || "")];
}

async function busy(button, work) {
  button.disabled = true;
  clearError();
  try {
    await work();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const [email, password] = formValues(event.target);
  busy($("login-submit"), () => logIn(email, password));
});

$("signup-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const [email, password] = formValues(event.target);
  busy($("signup-submit"), async () => {
    await api("POST", "/users", { json: { email, password }, auth: false });
    event.target.reset();
    await logIn(email, password);
    notify(`Welcome, ${email}.`);
  });
});

$("logout").addEventListener("click", () =>
  busy($("logout"), async () => {
    try {
      await api("GET", "/disconnect");
    } finally {
      signedOut();
      notify("You are logged out.");
    }
  }),
);

$("alert-close").addEventListener("click", clearError);

// ---- folders and pages ----------------------------------------------------------------------------------

const folders = new Map(); // id -> view, for breadcrumbs
let generation = 0; // bumped by each render: late answers of an earlier one are dropped
let objectUrls = [];

async function trail(folderId) {
  const chain = [];
  let id = folderId;
  for (let depth = 0; id && id !== "0" && depth < 64; depth += 1) {
    let folder = folders.get(id);
    if (!folder) {
      folder = await api("GET", `/files/${encodeURIComponent(id)}`);
      folders.set(id, folder);
    }
    chain.unshift(folder);
    id = String(folder.parentId);
  }
  return chain;
}

function crumbs(list, chain, open) {
  list.replaceChildren();
  const steps = [{ id: "0", name: "My files" }, ...chain];
  steps.forEach((step, index) => {
    const last = index === steps.length - 1;
    const target = String(step.id);
    const link = el(
      "a",
      { href: placeUrl(target, 0), "aria-current": last ? "page" : null },
      step.name,
    );
    link.addEventListener("click", (event) => {
      event.preventDefault();
      open(target);
    });
    list.append(el("li", {}, link));
  });
}

function releaseUrls() {
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls = [];
}

async function render() {
  const mine = ++generation;
  stopPolling();
  if (!session.token) {
    showSignIn();
    return;
  }
  try {
    if (!me) me = await api("GET", "/users/me");
    const { folder, page } = place();
    const [chain, items] = await Promise.all([
      trail(folder),
      api("GET", `/files?parentId=${encodeURIComponent(folder)}&page=${page}`),
    ]);
    if (mine !== generation) return;
    $("who-email").textContent = me.email;
    $("who").hidden = false;
    $("signin").hidden = true;
    $("browser").hidden = false;
    crumbs($("crumbs"), chain, (id) => go(id, 0));
    const name = chain.length ? chain[chain.length - 1].name : "My files";
    document.title = `${name} · Files manager`;
    $("folder-title").textContent = name;
    showItems(items, mine);
    $("page-label").textContent = `Page ${page + 1}`;
    $("prev").disabled = page === 0;
    $("next").disabled = items.length < PAGE_SIZE;
    $("empty").hidden = items.length > 0;
    if (items.length === 0 && page > 0) $("empty").textContent = "No more files on this page.";
    else $("empty").textContent = "This folder is empty.";
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof ApiError && error.status === 401) return; // signedOut() has shown the sign-in
    if (error instanceof ApiError && error.status === 404 && place().folder !== "0") {
      showError("That folder no longer exists; here are your files.");
      history.replaceState(null, "", placeUrl("0", 0));
      await render();
      return;
    }
    showError(error);
  }
}

$("prev").addEventListener("click", () => {
  const { folder, page } = place();
  go(folder, Math.max(0, page - 1));
});
$("next").addEventListener("click", () => {
  const { folder, page } = place();
  go(folder, page + 1);
});
window.addEventListener("popstate", () => render());

// ---- tiles ----------------------------------------------------------------------------------------------

const tiles = new Map(); // id -> { item, thumb }

function glyph(item) {
  // An icon of this origin's own: no emoji font is assumed on the machine.
  return el("img", { class: "glyph", src: `/app/${item.type === "folder" ? "folder" : item.type === "image" ? "image" : "file"}.svg`, alt: "" });
}

function describe(item) {
  if (item.type === "folder") return "Folder";
  const parts = [formatSize(item.size)];
  if (item.isPublic) parts.push("public");
  return parts.filter(Boolean).join(" · ");
}

function showItems(items, mine) {
  releaseUrls();
  tiles.clear();
  const list = $("items");
  list.replaceChildren();
  for (const item of items) {
    const thumb = el("div", { class: "thumb", "aria-hidden": "true" }, glyph(item));
    const open = el(
      "button",
      { type: "button", class: "open", "aria-label": `${item.type === "folder" ? "Open folder" : "Open"} ${item.name}` },
      thumb,
      el("span", { class: "label" }, item.name),
      el("span", { class: "meta" }, describe(item)),
    );
    open.addEventListener("click", () => (item.type === "folder" ? go(String(item.id), 0) : openDetails(item)));
    const tile = el("li", { class: "tile", "data-id": item.id, "data-name": item.name }, open);
    if (item.type === "folder") {
      const more = el("button", { type: "button", class: "more quiet", "aria-label": `Actions for ${item.name}` }, "Actions");
      more.addEventListener("click", () => openDetails(item));
      tile.append(more);
    }
    list.append(tile);
    tiles.set(String(item.id), { item, thumb });
    if (item.type === "image") showThumbnail(thumb, item, 250, "", () => mine === generation);
  }
  pollPending(mine);
}

function thumbState(item) {
  return item.thumbnail || "ready"; // a server without the field (STRICT_CONTRACT) is asked for the bytes
}

// An image's thumbnail of `size` in `container`, or words for its state; `wanted` says whether the page still
// shows that container once the bytes are in.
async function showThumbnail(container, item, size, alt, wanted) {
  const state = thumbState(item);
  container.dataset.state = state;
  if (state !== "ready") {
    const words = state === "pending" ? "Making the thumbnail…" : "No preview: the thumbnail could not be made";
    container.replaceChildren(el("span", {}, words));
    return;
  }
  try {
    const url = await dataUrl(item, size);
    if (!wanted()) {
      URL.revokeObjectURL(url);
      return;
    }
    objectUrls.push(url);
    container.replaceChildren(el("img", { src: url, alt }));
  } catch {
    container.replaceChildren(el("span", {}, "No preview"));
  }
}

let pollTimer = 0;

function stopPolling() {
  clearTimeout(pollTimer);
  pollTimer = 0;
}

function pollPending(mine, round = 0) {
  const pending = [...tiles.values()].filter(({ item }) => item.type === "image" && thumbState(item) === "pending");
  if (pending.length === 0 || round >= POLL_LIMIT) return;
  pollTimer = setTimeout(async () => {
    for (const entry of pending) {
      try {
        const fresh = await api("GET", `/files/${encodeURIComponent(entry.item.id)}`);
        if (mine !== generation) return;
        if (thumbState(fresh) !== "pending") {
          entry.item = fresh;
          await showThumbnail(entry.thumb, fresh, 250, "", () => mine === generation);
        }
      } catch {
        // gone or unreachable: the next render shows what is there
      }
    }
    if (mine === generation) pollPending(mine, round + 1);
  }, POLL_MS);
}

// ---- details, publish, rename, move, delete, download -----------------------------------------------------

let current = null; // the item the details dialog shows

function fact(list, term, value) {
  if (value === undefined || value === null || value === "") return;
  list.append(el("dt", {}, term), el("dd", {}, String(value)));
}

function publicLink(item) {
  return new URL(`/files/${encodeURIComponent(item.id)}/data`, location.origin).href;
}

async function openDetails(item) {
  current = item;
  fillDetails(item);
  const dialog = $("details");
  if (!dialog.open) dialog.showModal();
  const preview = $("details-preview");
  preview.replaceChildren(glyph(item));
  if (item.type === "image") await showThumbnail(preview, item, 500, `Preview of ${item.name}`, () => current === item);
}

function fillDetails(item) {
  $("details-title").textContent = item.name;
  const facts = $("details-facts");
  facts.replaceChildren();
  fact(facts, "Kind", item.type === "folder" ? "Folder" : item.type === "image" ? "Image" : "File");
  fact(facts, "Size", formatSize(item.size));
  fact(facts, "Type", item.mimeType);
  fact(facts, "Visibility", item.isPublic ? "Public: anyone with the link" : "Private");
  fact(facts, "Changed", item.updatedAt ? new Date(item.updatedAt).toLocaleString() : "");
  const isFolder = item.type === "folder";
  $("act-download").hidden = isFolder;
  $("act-publish").hidden = isFolder;
  $("act-publish").textContent = item.isPublic ? "Unpublish" : "Publish";
  $("details-link").hidden = isFolder || !item.isPublic;
  $("public-link").value = isFolder || !item.isPublic ? "" : publicLink(item);
}

function updated(item) {
  current = item;
  fillDetails(item);
  return render();
}

$("act-publish").addEventListener("click", () =>
  busy($("act-publish"), async () => {
    const action = current.isPublic ? "unpublish" : "publish";
    const item = await api("PUT", `/files/${encodeURIComponent(current.id)}/${action}`);
    await updated(item);
    notify(item.isPublic ? `${item.name} is public.` : `${item.name} is private again.`);
  }),
);

$("copy-link").addEventListener("click", async () => {
  const input = $("public-link");
  try {
    await navigator.clipboard.writeText(input.value);
    notify("Link copied.");
  } catch {
    input.focus();
    input.select();
    notify("Select and copy the link (Ctrl+C or ⌘C).");
  }
});

$("act-download").addEventListener("click", () =>
  busy($("act-download"), async () => {
    const url = await dataUrl(current);
    const link = el("a", { href: url, download: current.name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }),
);

// Opens a modal dialog, focuses `focus`, and resolves with whether it was closed by its "ok" button.
function confirmed(dialog, focus) {
  dialog.returnValue = "";
  dialog.showModal();
  focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

async function ask(title, label, value, okText) {
  $("ask-title").textContent = title;
  $("ask-label").textContent = label;
  $("ask-ok").textContent = okText;
  const input = $("ask-input");
  input.value = value;
  return (await confirmed($("ask"), () => input.select())) ? input.value.trim() : null;
}

function confirmDelete(item) {
  $("confirm-title").textContent = `Delete ${item.name}?`;
  $("confirm-text").textContent =
    item.type === "folder"
      ? "The folder and everything in it will be deleted. This cannot be undone."
      : "The file will be deleted. This cannot be undone.";
  return confirmed($("confirm"), () => $("confirm-cancel").focus());
}

$("act-rename").addEventListener("click", async () => {
  const item = current;
  const name = await ask(`Rename ${item.name}`, "New name", item.name, "Rename");
  if (!name || name === item.name) return;
  await busy($("act-rename"), async () => {
    await updated(await api("PATCH", `/files/${encodeURIComponent(item.id)}`, { json: { name } }));
    folders.delete(String(item.id));
    notify(`Renamed to ${name}.`);
  });
});

$("act-delete").addEventListener("click", async () => {
  const item = current;
  if (!(await confirmDelete(item))) return;
  await busy($("act-delete"), async () => {
    await api("DELETE", `/files/${encodeURIComponent(item.id)}`);
    folders.delete(String(item.id));
    $("details").close();
    notify(`${item.name} was deleted.`);
    await render();
  });
});

$("new-folder").addEventListener("click", async () => {
  const name = await ask("New folder", "Folder name", "", "Create");
  if (!name) return;
  await busy($("new-folder"), async () => {
    const parentId = place().folder;
    await api("POST", "/files", { json: { name, type: "folder", parentId: parentId === "0" ? 0 : parentId } });
    notify(`Folder ${name} created.`);
    await render();
  });
});

// ---- the move dialog: browse folders, pick one ----------------------------------------------------------------

const picker = { folder: "0", page: 0, moving: null };

async function showPicker() {
  const list = $("picker-folders");
  try {
    const [chain, items] = await Promise.all([
      trail(picker.folder),
      api("GET", `/files?parentId=${encodeURIComponent(picker.folder)}&page=${picker.page}`),
    ]);
    crumbs($("picker-crumbs"), chain, (id) => {
      picker.folder = id;
      picker.page = 0;
      showPicker();
    });
    list.replaceChildren();
    for (const item of items) {
      if (item.type !== "folder" || String(item.id) === String(picker.moving.id)) continue;
      const open = el("button", { type: "button", "aria-label": `Open folder ${item.name}` }, glyph(item), item.name);
      open.addEventListener("click", () => {
        folders.set(String(item.id), item);
        picker.folder = String(item.id);
        picker.page = 0;
        showPicker();
      });
      list.append(el("li", {}, open));
    }
    if (!list.children.length) list.append(el("li", { class: "hint" }, "No folders here."));
    $("picker-prev").disabled = picker.page === 0;
    $("picker-next").disabled = items.length < PAGE_SIZE;
    const here = chain.length ? chain[chain.length - 1].name : "My files";
    $("picker-ok").textContent = `Move to ${here}`;
  } catch (error) {
    showError(error);
  }
}

$("picker-prev").addEventListener("click", () => {
  picker.page = Math.max(0, picker.page - 1);
  showPicker();
});
$("picker-next").addEventListener("click", () => {
  picker.page += 1;
  showPicker();
});

$("act-move").addEventListener("click", async () => {
  picker.moving = current;
  picker.folder = "0";
  picker.page = 0;
  await showPicker();
  $("picker").showModal();
});

$("picker-ok").addEventListener("click", () =>
  busy($("picker-ok"), async () => {
    const item = picker.moving;
    const parentId = picker.folder === "0" ? 0 : picker.folder;
    const moved = await api("PATCH", `/files/${encodeURIComponent(item.id)}`, { json: { parentId } });
    $("picker").close();
    folders.delete(String(item.id));
    await updated(moved);
    notify(`${item.name} was moved.`);
  }),
);

// ---- uploads: streamed multipart, one progress bar each, cancel --------------------------------------------------

const queue = [];
let running = 0;

function upload(file) {
  const parentId = place().folder;
  const bar = el("progress", { max: "100", value: "0", "aria-label": `Uploading ${file.name}` });
  const state = el("span", { class: "state" }, "Waiting…");
  const cancel = el("button", { type: "button", class: "quiet", "aria-label": `Cancel the upload of ${file.name}` }, "Cancel");
  const row = el("li", { "data-name": file.name }, el("span", { class: "name" }, file.name), cancel, bar, state);
  $("uploads").append(row);
  const job = { file, parentId, bar, state, cancel, row, xhr: null, cancelled: false };
  cancel.addEventListener("click", () => {
    job.cancelled = true;
    if (job.xhr) job.xhr.abort();
    else finish(job, "Cancelled");
  });
  queue.push(job);
  pump();
}

function finish(job, text, failed = false) {
  job.state.textContent = text;
  job.cancel.disabled = true;
  job.row.dataset.done = failed ? "failed" : "true";
  setTimeout(() => job.row.remove(), failed ? 15000 : 4000);
}

function pump() {
  while (running < UPLOADS_AT_ONCE && queue.length) {
    const job = queue.shift();
    if (job.cancelled) continue;
    running += 1;
    send(job).finally(() => {
      running -= 1;
      pump();
    });
  }
}

function send(job) {
  return new Promise((resolve) => {
    const { file } = job;
    const form = new FormData();
    form.append("name", file.name);
    form.append("type", IMAGE_TYPES.has(file.type) ? "image" : "file");
    form.append("parentId", job.parentId);
    form.append("isPublic", "false");
    form.append("data", file, file.name); // last: the server streams it to storage as it arrives
    const xhr = new XMLHttpRequest();
    job.xhr = xhr;
    xhr.open("POST", "/files");
    xhr.setRequestHeader("X-Token", session.token || "");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.floor((100 * event.loaded) / event.total);
      job.bar.value = percent;
      job.state.textContent = `${percent} % of ${formatSize(file.size)}`;
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 201) {
        job.bar.value = 100;
        finish(job, "Uploaded");
        if (place().folder === job.parentId) render();
      } else {
        const message = xhr.response && typeof xhr.response.error === "string" ? xhr.response.error : `${xhr.status}`;
        finish(job, `Failed: ${message}`, true);
        showError(`${file.name}: ${message}`);
        if (xhr.status === 401) signedOut("Your session has ended. Log in again.");
      }
      resolve();
    });
    xhr.addEventListener("error", () => {
      finish(job, "Failed: the server cannot be reached", true);
      showError(`${file.name}: the upload failed; the server cannot be reached.`);
      resolve();
    });
    xhr.addEventListener("abort", () => {
      finish(job, "Cancelled");
      resolve();
    });
    job.state.textContent = "Starting…";
    xhr.send(form);
  });
}

$("upload-input").addEventListener("change", (event) => {
  for (const file of event.target.files) upload(file);
  event.target.value = "";
});

const drop = $("drop");
for (const name of ["dragenter", "dragover"]) {
  drop.addEventListener(name, (event) => {
    if (!event.dataTransfer || ![...event.dataTransfer.types].includes("Files")) return;
    event.preventDefault();
    drop.classList.add("over");
  });
}
drop.addEventListener("dragleave", (event) => {
  if (event.target === drop) drop.classList.remove("over");
});
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  for (const file of event.dataTransfer.files) upload(file);
});

render();
