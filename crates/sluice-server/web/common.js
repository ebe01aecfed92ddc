// What the runner page (app.js) and the builder page (builder.js) share: the API call with the
// tab's credential, and the modal an OpenModal form action opens. Loaded before either.
"use strict";

const $ = (id) => document.getElementById(id);

// A new element: `props` are its properties, except `dataset` (data-* attributes) and
// aria*, `for` and `role` (attributes); `children` are nodes or text (null is skipped).
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("aria") || key === "for" || key === "role") node.setAttribute(key.replace(/^aria/, "aria-").toLowerCase(), value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};

// The tab's bearer token, in sessionStorage under `key` (each page sets its own).
const credential = {
  key: "sluiceToken",
  get value() { return sessionStorage.getItem(this.key); },
  set value(token) { if (token) sessionStorage.setItem(this.key, token); else sessionStorage.removeItem(this.key); },
};

// Calls the API; answers {status, json} (a body that is not JSON comes back as an error message).
// A string body is sent as it is (a file's text); anything else as JSON.
async function api(method, path, body, extraHeaders = {}) {
  const headers = { "content-type": "application/json", ...extraHeaders };
  if (credential.value) headers.authorization = "Bearer " + credential.value;
  const sent = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
  const answer = await fetch(path, { method, headers, body: sent });
  const text = await answer.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { json = { error: { message: text } }; }
  return { status: answer.status, json };
}

// Opens the modal of an OpenModal form action; fields are titled from the component's definitions.
function openModal(action, definitions) {
  $("modalTitle").textContent = action.title || "";
  const fields = $("modalFields");
  fields.replaceChildren();
  for (const [name, value] of Object.entries(action.parameters || {})) {
    const dt = document.createElement("dt");
    dt.textContent = definitions?.[name]?.title || name;
    const dd = document.createElement("dd");
    dd.dataset.field = name;
    dd.textContent = value === null ? "" : String(value);
    fields.append(dt, dd);
  }
  $("modal").classList.add("open");
  $("modalClose").focus();
}
$("modalClose").onclick = () => $("modal").classList.remove("open");
