// The Sluice builder page: open a component, edit its dataflows on a canvas (stages left to right,
// steps top to bottom), edit a step's settings in a drawer made from its settings schema, see the
// server's problems as you type, save, and run the saved dataflow with each step's trace on its
// card. Plain script over common.js; see docs/builder.md.
"use strict";

credential.key = "sluiceBuilderToken";
const LANGS = ["en", "fr", "es", "pt", "de"];
const params = new URLSearchParams(location.search);
const state = {
  lang: pickLang(),
  catalog: new Map(), // step type → {title, group, startsFlow, schema}
  componentSchema: null,
  doc: null, // the component file being edited
  saved: "", // its JSON as last saved or opened
  flow: 0, // index of the dataflow shown
  selected: null, // name of the selected step
  problems: [], // the server's problems with `doc`
  fields: {}, // step pointer → the top-level fields written upstream of it (the server's answer)
  systemFields: [], // the fields every entry has in `data` besides the definitions
  picking: null, // the stage whose step picker is open
  trace: new Map(), // step name → its trace in the run shown
  run: null, // the run record shown on the canvas: its input, failed step and message
};

function pickLang() {
  const wanted = [params.get("lang"), ...navigator.languages].filter(Boolean).map((tag) => tag.slice(0, 2).toLowerCase());
  return wanted.find((tag) => LANGS.includes(tag)) || "en";
}

const enc = encodeURIComponent;
const dataflow = () => state.doc.dataflows[state.flow];
const allSteps = () => dataflow().stages.flatMap((stage) => stage.steps);
const dirty = () => state.doc !== null && JSON.stringify(state.doc) !== state.saved;

// ---- Signing in --------------------------------------------------------------------------

$("useToken").onclick = () => { credential.value = $("builderToken").value; start(); };
$("builderToken").addEventListener("keydown", (event) => { if (event.key === "Enter") $("useToken").click(); });
$("signOut").onclick = () => { credential.value = null; location.reload(); };

async function start() {
  $("signinError").textContent = "";
  const who = await api("GET", "/api/session");
  if (who.status !== 200 || !who.json?.builder) {
    credential.value = null;
    $("signinError").textContent = "This page needs a builder token (SLUICE_ADMIN_TOKENS).";
    return;
  }
  $("signin").hidden = true;
  $("app").hidden = false;
  $("signOut").hidden = false;
  const schema = await api("GET", "/api/schemas/component");
  state.componentSchema = schema.json;
  await loadCatalog();
  await loadComponents();
  if (params.get("component")) await openComponent(params.get("component"), params.get("dataflow"));
}

// ---- Language ----------------------------------------------------------------------------

$("lang").value = state.lang;
document.documentElement.lang = state.lang;
$("lang").onchange = async () => {
  state.lang = $("lang").value;
  document.documentElement.lang = state.lang;
  await loadCatalog();
  render();
};

async function loadCatalog() {
  const answer = await api("GET", "/api/steps?lang=" + state.lang);
  state.catalog = new Map((answer.json || []).map((step) => [step.id, step]));
}

// ---- Components --------------------------------------------------------------------------

async function loadComponents() {
  const answer = await api("GET", "/api/components");
  const list = $("components");
  list.replaceChildren();
  for (const c of answer.json || []) {
    const button = el("button", { className: "secondary", textContent: c.name, title: c.title || "", dataset: { component: c.name } });
    button.onclick = () => openComponent(c.name);
    list.append(button);
  }
}

$("newComponent").onclick = () => {
  if (!leave()) return;
  const name = "Component" + (document.querySelectorAll("#components button").length + 1);
  const doc = { name, definitions: {}, dataflows: [{ name: "Main", stages: [{ name: "Input", steps: [] }] }] };
  show(doc, "", null);
};

async function openComponent(name, flowName) {
  if (!leave()) return;
  const answer = await api("GET", "/api/components/" + enc(name));
  if (answer.status !== 200) { status(answer.json?.error?.message || "could not open " + name); return; }
  show(answer.json.component, JSON.stringify(answer.json.component), flowName);
}

function show(doc, saved, flowName) {
  state.doc = doc;
  state.saved = saved;
  state.flow = Math.max(0, doc.dataflows.findIndex((flow) => flow.name === flowName));
  state.selected = null;
  state.trace = new Map();
  state.run = null;
  $("work").hidden = false;
  $("runInput").value = JSON.stringify({ data: Object.fromEntries(Object.keys(doc.definitions || {}).map((field) => [field, null])) }, null, 1);
  for (const button of document.querySelectorAll("#components button")) button.setAttribute("aria-current", String(button.dataset.component === doc.name));
  $("diff").hidden = true;
  changed();
  // The moment a component is first on the canvas, for the builder bench (benches/builder.rs).
  performance.mark("sluice:component-drawn");
  loadVersions();
  loadRuns();
}

// Whether the unsaved changes may be dropped (asks when there are some).
const leave = () => !dirty() || confirm("Drop the unsaved changes?");
window.addEventListener("beforeunload", (event) => { if (dirty()) event.preventDefault(); });

$("save").onclick = async () => {
  const answer = await api("PUT", "/api/components/" + enc(state.doc.name), state.doc);
  if (answer.status !== 200) { status(answer.json?.error?.message || "not saved"); return; }
  state.saved = JSON.stringify(state.doc);
  status("saved as version " + answer.json.version);
  loadComponents();
  loadVersions();
};

// ---- Versions, import and export -----------------------------------------------------------

async function loadVersions() {
  const list = $("versionsList");
  list.replaceChildren();
  const answer = await api("GET", `/api/components/${enc(state.doc.name)}/versions`);
  for (const v of answer.status === 200 ? answer.json : []) {
    const pick = el("input", { type: "checkbox", ariaLabel: "Compare version " + v.version, dataset: { compare: v.version } });
    const restore = el("button", { className: "secondary", textContent: "Restore as a new version", dataset: { restore: v.version } });
    restore.onclick = () => restoreVersion(v.version);
    const when = new Date(v.savedAt).toLocaleString(state.lang);
    list.append(el("div", { dataset: { version: v.version } }, pick, ` version ${v.version}, saved ${when}${v.savedBy ? " by " + v.savedBy : ""} `, restore));
  }
}

// The text of a saved version, exactly as it was saved.
async function fileOf(version) {
  const answer = await fetch(`/api/components/${enc(state.doc.name)}/file` + (version ? "?version=" + version : ""), {
    headers: { authorization: "Bearer " + credential.value },
  });
  if (!answer.ok) throw new Error("version " + version + ": " + answer.status);
  return answer.text();
}

async function restoreVersion(version) {
  if (!leave()) return;
  const answer = await api("PUT", "/api/components/" + enc(state.doc.name), await fileOf(version));
  if (answer.status !== 200) { status(answer.json?.error?.message || "not restored"); return; }
  state.saved = JSON.stringify(state.doc); // what is shown is dropped on purpose
  await openComponent(state.doc.name, dataflow().name);
  status(`version ${version} restored as version ${answer.json.version}`);
}

$("export").onclick = async () => {
  const link = el("a", { href: URL.createObjectURL(new Blob([await fileOf(null)], { type: "application/json" })), download: state.doc.name + ".json" });
  link.click();
  URL.revokeObjectURL(link.href);
};

// Imports a component file as a new version of the component it names, byte for byte.
$("import").onchange = async () => {
  const file = $("import").files[0];
  if (!file || !leave()) return;
  const text = await file.text();
  let name;
  try { name = JSON.parse(text).name; } catch (e) { status("not a component file: " + e.message); return; }
  const answer = await api("PUT", "/api/components/" + enc(name), text);
  $("import").value = "";
  if (answer.status !== 200) {
    status(`not imported: ${answer.json?.errors?.[0]?.message || answer.json?.error?.message || answer.status}`);
    return;
  }
  state.saved = JSON.stringify(state.doc);
  await loadComponents();
  await openComponent(name);
  status(`imported as version ${answer.json.version}`);
};

// Side by side: the older chosen version on the left, the newer on the right, line by line.
$("compare").onclick = async () => {
  const chosen = [...document.querySelectorAll("[data-compare]:checked")].map((box) => +box.dataset.compare).sort((a, b) => a - b);
  if (chosen.length !== 2) { status("choose two versions to compare"); return; }
  const [before, after] = await Promise.all(chosen.map(async (v) => JSON.stringify(JSON.parse(await fileOf(v)), null, 2).split("\n")));
  $("diffOld").textContent = "version " + chosen[0];
  $("diffNew").textContent = "version " + chosen[1];
  showDiff($("diff"), before, after);
};

// Fills a two-column diff table with the rows of `diffLines` and shows it.
function showDiff(table, before, after) {
  table.tBodies[0].replaceChildren(...diffLines(before, after).map(([change, left, right]) =>
    el("tr", { dataset: { change } }, el("td", { textContent: left ?? "" }), el("td", { textContent: right ?? "" }))));
  table.hidden = false;
}

// The rows of a line diff (longest common subsequence): [change, old line, new line], where
// removed lines facing added ones make "changed" rows.
function diffLines(a, b) {
  const n = a.length, m = b.length;
  // common[i][j]: the length of the longest common subsequence of a[i..] and b[j..].
  const common = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) common[i][j] = a[i] === b[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
  }
  const ops = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) ops.push(["same", a[i++], b[j++]]);
    else if (common[i + 1][j] >= common[i][j + 1]) ops.push(["removed", a[i++]]);
    else ops.push(["added", undefined, b[j++]]);
  }
  while (i < n) ops.push(["removed", a[i++]]);
  while (j < m) ops.push(["added", undefined, b[j++]]);
  const rows = [];
  for (let k = 0; k < ops.length;) {
    if (ops[k][0] === "same") { rows.push(ops[k++]); continue; }
    const removed = [], added = [];
    while (k < ops.length && ops[k][0] === "removed") removed.push(ops[k++][1]);
    while (k < ops.length && ops[k][0] === "added") added.push(ops[k++][2]);
    for (let r = 0; r < Math.max(removed.length, added.length); r++) {
      const change = r < removed.length && r < added.length ? "changed" : r < removed.length ? "removed" : "added";
      rows.push([change, removed[r], added[r]]);
    }
  }
  return rows;
}

function status(text) { $("status").textContent = text; }

// ---- Edits: every one re-renders and asks the server for problems --------------------------

let validation = null;
function changed() {
  render();
  status(dirty() ? "unsaved changes" : "");
  clearTimeout(validation);
  validation = setTimeout(validate, 200);
}

let asked = 0;
async function validate() {
  const mine = ++asked;
  const answer = await api("POST", "/api/validate", state.doc);
  if (mine !== asked) return; // a later edit asked again
  state.problems = answer.status === 200 ? [] : answer.json?.errors || [{ pointer: "", message: answer.json?.error?.message || "not valid" }];
  state.fields = answer.json?.fields || {};
  state.systemFields = answer.json?.systemFields || [];
  render();
}

// Where a problem points: dataflow, stage and step indexes and the setting's key, when it has them.
function place(pointer) {
  const m = /^\/dataflows\/(\d+)(?:\/stages\/(\d+)(?:\/steps\/(\d+)(?:\/settings\/([^/]+))?)?)?/.exec(pointer || "");
  return m ? { flow: +m[1], stage: m[2] === undefined ? null : +m[2], step: m[3] === undefined ? null : +m[3], key: m[4] ?? null } : null;
}
const problemsOf = (si, ki) => state.problems.filter((p) => { const at = place(p.pointer); return at && at.flow === state.flow && at.stage === si && at.step === ki; });

function uniqueName(base) {
  const taken = new Set(allSteps().map((step) => step.name));
  for (let n = 1; ; n++) if (!taken.has(base + n)) return base + n;
}

function addStep(stage, type) {
  const above = allSteps().at(-1);
  const step = { name: uniqueName(type.replace(/_(\w)/g, (_, c) => c.toUpperCase())), type };
  if (!state.catalog.get(type)?.startsFlow && above) step.source = above.name;
  stage.steps.push(step);
  state.selected = step.name;
  changed();
}

function renameStep(step, name) {
  for (const other of allSteps()) if (other.source === step.name) other.source = name;
  if (state.selected === step.name) state.selected = name;
  step.name = name;
  changed();
}

function deleteStep(name) {
  for (const stage of dataflow().stages) stage.steps = stage.steps.filter((step) => step.name !== name);
  state.selected = null;
  changed();
}

// Moves a step by one place: up or down in its stage, or to the stage on the left or right.
function moveStep(name, key) {
  const stages = dataflow().stages;
  const si = stages.findIndex((stage) => stage.steps.some((step) => step.name === name));
  const steps = stages[si].steps;
  const ki = steps.findIndex((step) => step.name === name);
  const [step] = steps.splice(ki, 1);
  const to = { ArrowUp: [si, ki - 1], ArrowDown: [si, ki + 1], ArrowLeft: [si - 1, Infinity], ArrowRight: [si + 1, Infinity] }[key];
  const target = stages[Math.min(Math.max(to[0], 0), stages.length - 1)].steps;
  target.splice(Math.min(Math.max(to[1], 0), target.length), 0, step);
  changed();
  document.querySelector(`[data-step="${CSS.escape(name)}"]`)?.focus();
}

// ---- Rendering ---------------------------------------------------------------------------

// Draws the component anew; the control being typed in (drawer or canvas) keeps its focus,
// its text and its selection, so an answer of the server arriving mid-word loses nothing.
function render() {
  if (!state.doc) return;
  const kept = focused();
  // The open step picker's list scrolls in its own box, drawn anew: it keeps its place.
  const pickScroll = document.querySelector(".pickList")?.scrollTop ?? 0;
  $("componentName").textContent = state.doc.name;
  renderDataflows();
  renderCanvas();
  renderDrawer();
  renderProblems();
  refocus(kept);
  const pickList = document.querySelector(".pickList");
  if (pickList) pickList.scrollTop = pickScroll;
}

// The data-* hooks that name a control across redraws, most specific first.
const HOOKS = ["setting", "stageName", "definitionText", "definitionEnum", "definitionFlag", "templateText", "step"];

function focused() {
  const active = document.activeElement;
  if (!active || active === document.body || !$("work").contains(active)) return null;
  const hook = HOOKS.find((key) => active.dataset[key] !== undefined);
  const selector = hook ? `[data-${hook.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}="${CSS.escape(active.dataset[hook])}"]`
    : active.id && !active.id.startsWith("f-") ? "#" + CSS.escape(active.id) : null;
  if (!selector) return null;
  const text = "value" in active && active.type !== "checkbox" && active.tagName !== "BUTTON" && active.tagName !== "SELECT";
  // Inputs without a caret (numbers) have no selection.
  const selection = text && active.selectionStart !== null ? [active.selectionStart, active.selectionEnd, active.selectionDirection] : null;
  return { selector, value: text ? active.value : null, selection };
}

function refocus(kept) {
  const control = kept && $("work").querySelector(kept.selector);
  if (!control) return;
  if (kept.value !== null && control.value !== kept.value) {
    control.value = kept.value;
    control.dispatchEvent(new Event("input")); // a code editor draws its copy again
  }
  control.focus();
  if (kept.selection) control.setSelectionRange(...kept.selection);
}

function renderDataflows() {
  const tabs = $("dataflows");
  tabs.replaceChildren();
  state.doc.dataflows.forEach((flow, i) => {
    const tab = el("button", { className: "secondary", textContent: flow.name, role: "tab", ariaSelected: String(i === state.flow), dataset: { dataflow: flow.name } });
    tab.onclick = () => { state.flow = i; state.selected = null; state.trace = new Map(); state.run = null; changed(); };
    tabs.append(tab);
  });
}

$("addDataflow").onclick = () => {
  const names = new Set(state.doc.dataflows.map((flow) => flow.name));
  let n = 1;
  while (names.has("Dataflow" + n)) n++;
  state.doc.dataflows.push({ name: "Dataflow" + n, stages: [{ name: "Input", steps: [] }] });
  state.flow = state.doc.dataflows.length - 1;
  state.selected = null;
  changed();
};

function renderCanvas() {
  const canvas = $("canvas");
  canvas.replaceChildren();
  dataflow().stages.forEach((stage, si) => {
    const title = el("input", { value: stage.name, ariaLabel: "Stage name", dataset: { stageName: stage.name } });
    title.onchange = () => { stage.name = title.value; changed(); };
    const column = el("section", { className: "stage", dataset: { stage: stage.name } }, title);
    column.addEventListener("dragover", (event) => event.preventDefault());
    column.addEventListener("drop", (event) => {
      event.preventDefault();
      const name = event.dataTransfer.getData("text/plain");
      const from = dataflow().stages.find((s) => s.steps.some((step) => step.name === name));
      if (!from) return;
      const step = from.steps.find((s) => s.name === name);
      from.steps = from.steps.filter((s) => s !== step);
      stage.steps.push(step);
      changed();
    });
    stage.steps.forEach((step, ki) => column.append(card(step, si, ki)));
    column.append(stepPicker(stage));
    canvas.append(column);
  });
  const addStage = el("button", { className: "secondary", textContent: "Add stage", id: "addStage" });
  addStage.onclick = () => { dataflow().stages.push({ name: "Stage" + (dataflow().stages.length + 1), steps: [] }); changed(); };
  canvas.append(addStage);
  drawFeeds();
}

// Arrows from each step to the steps that name it as their source, over the canvas (an SVG
// the size of the canvas's content, so it scrolls with the cards); those of the selected step
// stand out. Drawn again when the canvas changes size.
function drawFeeds() {
  const canvas = $("canvas");
  canvas.querySelector("svg.feeds")?.remove();
  const svgNode = (tag, attributes) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    return node;
  };
  const origin = canvas.getBoundingClientRect();
  const box = (name) => {
    const card = canvas.querySelector(`.card[data-step="${CSS.escape(name)}"]`);
    if (!card) return null;
    const r = card.getBoundingClientRect();
    const left = r.left - origin.left + canvas.scrollLeft, top = r.top - origin.top + canvas.scrollTop;
    return { left, top, right: left + r.width, bottom: top + r.height, middle: top + r.height / 2 };
  };
  const svg = svgNode("svg", { class: "feeds", width: canvas.scrollWidth, height: canvas.scrollHeight, "aria-hidden": "true" });
  const marker = svgNode("marker", { id: "arrow", viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.append(svgNode("path", { d: "M0,0 L8,4 L0,8 z" }));
  const defs = svgNode("defs", {});
  defs.append(marker);
  svg.append(defs);
  for (const step of allSteps()) {
    const from = step.source && box(step.source), to = box(step.name);
    if (!from || !to) continue;
    // Beside: from the source's right edge to the step's left edge. One above the other in a
    // column: a loop on the left from the source's side to the step's.
    const d = to.left > from.right
      ? `M${from.right},${from.middle} C${from.right + 30},${from.middle} ${to.left - 30},${to.middle} ${to.left - 2},${to.middle}`
      : `M${from.left},${from.middle} C${from.left - 24},${from.middle} ${to.left - 24},${to.middle} ${to.left - 2},${to.middle}`;
    const touches = state.selected === step.name || state.selected === step.source;
    svg.append(svgNode("path", { d, class: touches ? "selected" : "", "marker-end": "url(#arrow)", "data-from": step.source, "data-to": step.name }));
  }
  canvas.prepend(svg);
}
new ResizeObserver(() => { if (state.doc) drawFeeds(); }).observe($("canvas"));

function card(step, si, ki) {
  const info = state.catalog.get(step.type);
  const problems = problemsOf(si, ki);
  const trace = state.trace.get(step.name);
  const button = el(
    "button",
    { className: `card group-${info?.group || "unknown"}${trace?.status === "failed" ? " failed" : ""}`, draggable: true, ariaPressed: String(state.selected === step.name), dataset: { step: step.name }, title: "Alt+arrows move the step" },
    problems.length ? el("span", { className: "badge", textContent: String(problems.length), title: problems.map((p) => p.message).join("\n") }) : null,
    el("strong", { textContent: step.name }),
    el("span", { className: "title", textContent: info?.title || step.type }),
    step.source ? el("span", { className: "source", textContent: "← " + step.source + (step.branch === "error" ? " (errors)" : "") }) : null,
    step.onError && step.onError !== "stop" ? el("span", { className: "source", textContent: `on error: ${step.onError}` }) : null,
    trace ? el("span", { className: "trace", textContent: `${trace.status} · ${(trace.durationNs / 1e6).toFixed(2)} ms · ${trace.itemsIn} → ${trace.itemsOut}${trace.failedItems ? ` · ${trace.failedItems} failed` : ""}` }) : null,
    // Why the step failed, as the run record says (a script's message names its line and column).
    trace && state.run?.failedStep === step.name ? el("span", { className: "failure", textContent: state.run.message }) : null,
  );
  button.onclick = () => { state.selected = step.name; render(); };
  button.addEventListener("keydown", (event) => {
    if (event.altKey && event.key.startsWith("Arrow")) { event.preventDefault(); moveStep(step.name, event.key); }
  });
  button.addEventListener("dragstart", (event) => event.dataTransfer.setData("text/plain", step.name));
  if (!trace) return button;
  const eye = el("button", { className: "secondary eye", textContent: "◉ items", ariaLabel: "Items of step " + step.name, dataset: { eye: step.name } });
  eye.onclick = () => { state.selected = step.name; render(); $("traceItems")?.focus(); };
  return el("div", {}, button, eye);
}

// "+ step" under a stage, and when open a picker of every step type, grouped like Aqtra's
// groups, in the page's language, searchable by title, description or id: Enter adds the
// first match, Escape closes.
function stepPicker(stage) {
  const open = el("button", { className: "secondary addStep", textContent: "+ step…", ariaLabel: "Add a step to " + stage.name,
    ariaExpanded: String(state.picking === stage.name), dataset: { addStep: stage.name } });
  open.onclick = () => { state.picking = state.picking === stage.name ? null : stage.name; render(); $("pickStep")?.focus(); };
  if (state.picking !== stage.name) return open;
  const close = () => { state.picking = null; render(); $("work").querySelector(`[data-add-step="${CSS.escape(stage.name)}"]`)?.focus(); };
  const search = el("input", { type: "search", id: "pickStep", placeholder: "Search the steps", ariaLabel: "Search the step types" });
  const list = el("div", { className: "pickList" });
  const draw = () => {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const groups = new Map();
    for (const [id, info] of state.catalog) {
      const text = [info.title, info.description, id, info.groupTitle].join(" ").toLowerCase();
      if (!words.every((word) => text.includes(word))) continue;
      if (!groups.has(info.group)) groups.set(info.group, [el("h4", { textContent: info.groupTitle })]);
      const choice = el("button", { className: `pick group-${info.group}`, textContent: info.title, title: info.description, dataset: { pick: id } });
      choice.onclick = () => { state.picking = null; addStep(stage, id); };
      groups.get(info.group).push(choice);
    }
    list.replaceChildren(...[...groups.values()].flat());
    if (!groups.size) list.append(el("p", { className: "help", textContent: "No step type matches." }));
  };
  search.addEventListener("input", draw);
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); list.querySelector("[data-pick]")?.click(); }
    if (event.key === "Escape") { event.preventDefault(); close(); }
  });
  draw();
  return el("div", { className: "picker", dataset: { picker: stage.name } }, open, search, list);
}

function renderProblems() {
  const list = $("errors");
  list.replaceChildren();
  for (const problem of state.problems) {
    const where = [problem.step, problem.pointer].filter(Boolean).join(" · ");
    const button = el("button", { textContent: `${problem.message}${problem.hint ? " — " + problem.hint : ""} (${where || "component"})` });
    button.onclick = () => goTo(problem);
    list.append(el("li", { dataset: { pointer: problem.pointer || "" } }, button));
  }
  if (!state.problems.length) list.append(el("li", { className: "help", textContent: "No problems." }));
}

function goTo(problem) {
  const at = place(problem.pointer);
  if (!at) return;
  state.flow = at.flow;
  const step = at.stage === null || at.step === null ? null : state.doc.dataflows[at.flow]?.stages[at.stage]?.steps[at.step];
  state.selected = step?.name ?? null;
  render();
  // A setting's control, or a list setting's row the pointer names (its first row otherwise).
  const key = at.key && CSS.escape(at.key);
  const row = key && /\/settings\/[^/]+\/(\d+)/.exec(problem.pointer)?.[1];
  const target = key ? document.querySelector(`[data-setting="${key}"], [data-setting="${key}/${row ?? 0}"]`) : document.querySelector(`[data-step="${CSS.escape(state.selected || "")}"]`);
  target?.focus();
}

// ---- The settings drawer -----------------------------------------------------------------

// Rebuilt on every render (render keeps the focus).
function renderDrawer() {
  const drawer = $("drawer");
  const step = allSteps().find((s) => s.name === state.selected);
  drawer.hidden = false;
  drawer.replaceChildren(...(step ? stepPanel(step) : dataflowPanel()));
}

// A labelled control with its help and problems; `shown` is what holds the control, if not
// the control itself (a code editor).
function field(label, control, help, problems = [], shown = control) {
  control.id ||= "f-" + Math.random().toString(36).slice(2);
  return el("div", { className: "field" }, el("label", { htmlFor: control.id, textContent: label }), shown, ...notes(help, problems));
}

// What goes under a setting's control: its help text and its problems.
const notes = (help, problems) => [
  help ? el("p", { className: "help", textContent: help }) : null,
  ...problems.map((p) => el("p", { className: "problem", role: "alert", textContent: p.message })),
];

function dataflowPanel() {
  const flow = dataflow();
  const name = el("input", { value: flow.name, id: "dataflowName" });
  name.onchange = () => { flow.name = name.value; changed(); };
  // Each choice of the schema: a constant (signedIn, twoFactor, public) or an object keyed by
  // its one property (roles), whose list is written beside the choice.
  const choices = (state.componentSchema?.$defs?.Access?.oneOf || []).map((o) => o.const ?? Object.keys(o.properties || {})[0]);
  const descriptions = (state.componentSchema?.$defs?.Access?.oneOf || []).map((o) => o.description);
  const access = el("select", { id: "dataflowAccess" }, el("option", { value: "", textContent: "(default: signed in)" }),
    ...choices.map((c, i) => el("option", { value: c, textContent: `${c} — ${descriptions[i]}` })));
  const listed = flow.access && typeof flow.access === "object" ? Object.keys(flow.access)[0] : null;
  const roles = el("input", { id: "dataflowRoles", placeholder: "manager, auditor",
    value: listed ? (flow.access[listed] || []).join(", ") : "" });
  const rolesField = field("Roles", roles);
  rolesField.hidden = !listed;
  const names = () => roles.value.split(",").map((r) => r.trim()).filter((r) => r);
  access.value = listed || flow.access || "";
  access.onchange = () => {
    const object = access.value && !(state.componentSchema?.$defs?.Access?.oneOf || []).some((o) => o.const === access.value);
    if (object) flow.access = { [access.value]: names() }; else if (access.value) flow.access = access.value; else delete flow.access;
    changed();
  };
  roles.onchange = () => { flow.access = { [access.value]: names() }; changed(); };
  const remove = el("button", { className: "secondary", textContent: "Delete dataflow", disabled: state.doc.dataflows.length === 1 });
  remove.onclick = () => { state.doc.dataflows.splice(state.flow, 1); state.flow = 0; changed(); };
  return [el("h2", { textContent: "Dataflow" }), field("Name", name), field("Access", access), rolesField, remove, ...definitionsPanel(), ...templatesPanel(), ...componentPanel()];
}

// The component's name (saving writes under the name shown; the old name keeps its versions
// until deleted) and its deletion.
function componentPanel() {
  const name = el("input", { value: state.doc.name, id: "componentNameInput" });
  name.onchange = () => { state.doc.name = name.value; changed(); };
  const remove = el("button", { className: "secondary", textContent: "Delete component", id: "deleteComponent" });
  remove.onclick = async () => {
    if (!confirm(`Delete ${state.doc.name} and all its versions?`)) return;
    const answer = await api("DELETE", "/api/components/" + enc(state.doc.name));
    if (answer.status !== 204) { status(answer.json?.error?.message || "not deleted"); return; }
    state.doc = null;
    $("work").hidden = true;
    loadComponents();
  };
  // A new name saves as a new component; "Rename" moves the saved one, every version, to it.
  const savedName = state.saved ? JSON.parse(state.saved).name : null;
  const rename = el("button", { className: "secondary", textContent: "Rename, keeping its versions", id: "renameComponent",
    disabled: !savedName || savedName === state.doc.name, title: "Moves every saved version to the new name" });
  rename.onclick = async () => {
    const answer = await api("POST", `/api/components/${enc(savedName)}/rename`, { name: state.doc.name });
    if (answer.status !== 200) { status(answer.json?.error?.message || answer.json?.errors?.[0]?.message || "not renamed"); return; }
    state.saved = JSON.stringify({ ...JSON.parse(state.saved), name: state.doc.name });
    status(`renamed ${savedName} to ${state.doc.name}, with its versions`);
    loadComponents();
    loadVersions();
    render();
  };
  return [el("h3", { textContent: "Component" }), field("Component name", name), rename, remove];
}

// The component's notification templates (for Send templated notification): per template, a
// subject and a body (minijinja, in the code editor) for English and each language added.
function templatesPanel() {
  const templates = state.doc.templates || {};
  const blankText = () => ({ subject: "", body: "" });
  const rows = Object.entries(templates).map(([name, template]) => {
    const languages = LANGS.filter((lang) => lang === "en" || template[lang]).map((lang) => {
      const text = (template[lang] ||= blankText());
      const subject = el("input", { value: text.subject, placeholder: "Subject", ariaLabel: `${name} (${lang}): subject`, dataset: { templateText: `${name}/${lang}/subject` } });
      subject.onchange = () => { text.subject = subject.value; changed(); };
      const body = codeEditor(text.body, "text/x-jinja", null);
      body.input.setAttribute("aria-label", `${name} (${lang}): body`);
      body.input.dataset.templateText = `${name}/${lang}/body`;
      body.input.onchange = () => { text.body = body.input.value; changed(); };
      return el("div", {}, el("h4", { textContent: lang }), subject, body.wrapper);
    });
    const missing = LANGS.filter((lang) => !template[lang]);
    const addLanguage = el("select", { ariaLabel: `Add a language to ${name}`, dataset: { templateLanguage: name } },
      el("option", { value: "", textContent: "+ language…" }), ...missing.map((lang) => el("option", { value: lang, textContent: lang })));
    addLanguage.onchange = () => { if (addLanguage.value) { template[addLanguage.value] = blankText(); changed(); } };
    const remove = el("button", { className: "secondary", textContent: "✕", ariaLabel: "Delete template " + name });
    remove.onclick = () => { delete templates[name]; if (!Object.keys(templates).length) delete state.doc.templates; changed(); };
    return el("fieldset", { className: "definition" }, el("legend", { textContent: name }), remove, ...languages, missing.length ? addLanguage : null);
  });
  const newName = el("input", { id: "newTemplate", placeholder: "template name" });
  const add = el("button", { className: "secondary", textContent: "Add template", id: "addTemplate" });
  add.onclick = newName.onchange = () => {
    if (newName.value && !templates[newName.value]) {
      state.doc.templates = { ...templates, [newName.value]: { en: blankText() } };
      changed();
    }
  };
  return [el("h3", { textContent: "Notification templates" }), ...rows, field("New template", newName), add];
}

function definitionsPanel() {
  const definitions = (state.doc.definitions ||= {});
  const types = (state.componentSchema?.$defs?.DefinitionType?.oneOf || []).map((o) => o.const);
  const rows = Object.entries(definitions).map(([name, def]) => {
    const type = el("select", { ariaLabel: "Type of " + name, dataset: { definition: name } }, ...types.map((t) => el("option", { value: t, textContent: t })));
    type.value = def.type;
    type.onchange = () => { def.type = type.value; changed(); };
    const flag = (key, text) => {
      const box = el("input", { type: "checkbox", checked: !!def[key], ariaLabel: `${name}: ${text}`, dataset: { definitionFlag: key } });
      box.onchange = () => { if (box.checked) def[key] = true; else delete def[key]; changed(); };
      return el("label", {}, box, " " + text);
    };
    // A text of the definition (its title, its description), dropped when emptied.
    const text = (key, label) => {
      const input = el("input", { value: def[key] ?? "", placeholder: label, ariaLabel: `${label} of ${name}`, dataset: { definitionText: `${name}/${key}` } });
      input.onchange = () => { if (input.value) def[key] = input.value; else delete def[key]; changed(); };
      return input;
    };
    // Allowed values: a JSON array, or plain words separated by commas.
    const allowed = el("input", { value: def.enum ? JSON.stringify(def.enum) : "", placeholder: "Allowed values: low, high",
      ariaLabel: `Allowed values of ${name}`, dataset: { definitionEnum: name } });
    allowed.onchange = () => {
      const text = allowed.value.trim();
      let values;
      try { values = text.startsWith("[") ? JSON.parse(text) : text.split(",").map((v) => v.trim()).filter(Boolean); } catch (e) { status(`${name}: allowed values are not JSON (${e.message})`); return; }
      if (values.length) def.enum = values; else delete def.enum;
      changed();
    };
    const remove = el("button", { className: "secondary", textContent: "✕", ariaLabel: "Delete definition " + name });
    remove.onclick = () => { delete definitions[name]; changed(); };
    return el("fieldset", { className: "definition" }, el("legend", { textContent: name }), type,
      flag("required", "required"), flag("primaryKey", "primary key"), remove, text("title", "Title"), text("description", "Description"), allowed);
  });
  const newName = el("input", { id: "newDefinition", placeholder: "FieldName" });
  const add = el("button", { className: "secondary", textContent: "Add definition", id: "addDefinition" });
  // Added as soon as the name is left or Enter is pressed (a redraw would drop it otherwise).
  add.onclick = newName.onchange = () => {
    if (newName.value && !definitions[newName.value]) { definitions[newName.value] = { type: "string" }; changed(); }
  };
  return [el("h3", { textContent: "Definitions" }), ...rows, field("New definition", newName), add];
}

function stepPanel(step) {
  const info = state.catalog.get(step.type);
  const steps = allSteps();
  const index = steps.indexOf(step);
  const si = dataflow().stages.findIndex((stage) => stage.steps.includes(step));
  const ki = dataflow().stages[si].steps.indexOf(step);
  const problems = problemsOf(si, ki);
  const name = el("input", { value: step.name, id: "stepName" });
  name.onchange = () => renameStep(step, name.value);
  const source = el("select", { id: "stepSource" }, el("option", { value: "", textContent: "(none)" }),
    ...steps.slice(0, index).map((s) => el("option", { value: s.name, textContent: s.name })));
  source.value = step.source || "";
  source.onchange = () => { if (source.value) step.source = source.value; else delete step.source; changed(); };
  const remove = el("button", { className: "secondary", textContent: "Delete step", id: "deleteStep" });
  const onError = choice("stepOnError", step.onError || "stop", [["stop", "stop the run"], ["continue", "drop the item, go on"], ["route", "send the item to the error branch"]],
    (value) => { if (value === "stop") delete step.onError; else step.onError = value; });
  const branch = choice("stepBranch", step.branch || "", [["", "the items it emits"], ["error", "the items it failed on (error branch)"]],
    (value) => { if (value) step.branch = value; else delete step.branch; });
  remove.onclick = () => deleteStep(step.name);
  const schema = info?.schema || { properties: {} };
  const settings = Object.entries(schema.properties || {}).map(([key, prop]) =>
    setting(step, key, prop, schema, problems.filter((p) => place(p.pointer)?.key === key)));
  const general = problems.filter((p) => !place(p.pointer)?.key);
  return [
    el("h2", { textContent: info?.title || step.type }),
    info ? el("p", { className: "help", textContent: info.description }) : null,
    field("Name", name), field("Source step", source),
    step.source ? field("Takes from its source", branch) : null,
    field("When it fails on an item", onError),
    ...(info?.callsOutside ? outsideCalls(step) : []),
    ...general.map((p) => el("p", { className: "problem", textContent: p.message })),
    ...settings, paths(step, si, ki), remove, ...tracePanel(step),
  ].filter(Boolean);
}

// A select of `[value, label]` options that writes the step through `write` and redraws.
function choice(id, value, options, write) {
  const select = el("select", { id }, ...options.map(([v, label]) => el("option", { value: v, textContent: `${v || "(default)"} — ${label}` })));
  select.value = value;
  select.onchange = () => { write(select.value); changed(); };
  return select;
}

// Retries and timeout of a step that calls outside Sluice (a mail server, an API).
function outsideCalls(step) {
  const attempts = el("input", { id: "stepRetryAttempts", type: "number", min: 1, max: 10, value: step.retry?.attempts ?? 1 });
  const delay = el("input", { id: "stepRetryDelay", value: step.retry?.delay ?? "", placeholder: "1s" });
  const timeout = el("input", { id: "stepTimeout", value: step.timeout ?? "", placeholder: "no limit" });
  const write = () => {
    const tries = Number(attempts.value);
    if (tries > 1) step.retry = { attempts: tries, ...(delay.value ? { delay: delay.value } : {}) }; else delete step.retry;
    if (timeout.value) step.timeout = /^\d+$/.test(timeout.value) ? Number(timeout.value) : timeout.value; else delete step.timeout;
    changed();
  };
  attempts.onchange = write; delay.onchange = write; timeout.onchange = write;
  return [field("Tries (retry)", attempts), field("First wait between tries", delay), field("Timeout of one try", timeout)];
}

// The JSON Schema of a setting, with local `$ref`s resolved and a null alternative dropped.
function resolve(prop, schema) {
  let p = prop;
  for (let i = 0; i < 8; i++) {
    const name = p.$ref?.split("/").pop();
    if (name) { p = { ...schema.$defs?.[name], ...p, $ref: undefined, defName: name }; continue; }
    const options = (p.anyOf || []).filter((o) => o.type !== "null");
    if (p.anyOf && options.length === 1) { p = { ...options[0], ...p, anyOf: undefined }; continue; }
    break;
  }
  return p;
}

// One control for one setting, from its schema; `data-setting` names the key.
function setting(step, key, prop, schema, problems) {
  const p = resolve(prop, schema);
  const settings = (step.settings ||= {});
  const value = settings[key];
  const set = (v) => {
    if (v === undefined || v === "") delete settings[key]; else settings[key] = v;
    if (!Object.keys(settings).length) delete step.settings;
    changed();
  };
  const types = [p.type].flat();
  // The choices, each with its description in the page's language where the schema has one.
  const choices = p.enum?.map((c) => ({ const: c })) || p.oneOf?.filter((o) => o.const !== undefined);
  let control;
  if (choices?.length) {
    const option = (o) => el("option", { value: o.const, textContent: o.description ? `${o.const} — ${o.description}` : o.const });
    control = el("select", {}, el("option", { value: "", textContent: "(default)" }), ...choices.map(option));
    control.value = value ?? "";
    control.onchange = () => set(control.value || undefined);
  } else if (types.includes("boolean")) {
    control = el("input", { type: "checkbox", checked: value ?? p.default ?? false });
    control.onchange = () => set(control.checked);
  } else if (types.includes("integer") || types.includes("number")) {
    control = el("input", { type: "number", value: value ?? "", placeholder: p.default ?? "" });
    if (p.minimum !== undefined) control.min = p.minimum;
    if (p.maximum !== undefined) control.max = p.maximum;
    control.onchange = () => set(control.value === "" ? undefined : Number(control.value));
  } else if (p.defName === "FieldOrValue") {
    // A model path, or a fixed value written {"value": …}.
    const fixed = value !== null && typeof value === "object";
    control = el("input", { value: fixed ? value.value : value ?? "", placeholder: "data.Field, _user…" });
    control.setAttribute("list", "paths");
    const literal = el("input", { type: "checkbox", checked: fixed, ariaLabel: key + " is a fixed value" });
    const write = () => set(control.value === "" ? undefined : literal.checked ? { value: control.value } : control.value);
    control.onchange = write;
    literal.onchange = write;
    control.dataset.setting = key;
    return el("div", {}, field(p.title || key, control, p.description, problems), el("label", {}, literal, " fixed value"));
  } else if (types.includes("array") && p.items) {
    return el("div", { className: "field" }, el("h4", { textContent: p.title || key }),
      listEditor(key, value || [], resolve(p.items, schema), schema, set), ...notes(p.description, problems));
  } else if (p.contentMediaType) {
    // A text with a media type (a script, a message body): the code editor, with the line a
    // run of this step failed at marked.
    const failedAt = state.trace.get(step.name)?.failedAt;
    const editor = codeEditor(value, p.contentMediaType, failedAt?.setting === key && failedAt.line ? failedAt : null);
    editor.input.onchange = () => set(editor.input.value === "" ? undefined : editor.input.value);
    editor.input.dataset.setting = key;
    return field(p.title || key, editor.input, p.description, problems, editor.wrapper);
  } else if (types.includes("string") || p.defName === "DurationSetting") {
    control = el("input", { value: value ?? "", placeholder: p.default ?? "" });
    control.onchange = () => set(control.value === "" ? undefined : p.defName === "DurationSetting" && /^\d+$/.test(control.value) ? Number(control.value) : control.value);
  } else {
    control = el("textarea", { className: "code", rows: 3, spellcheck: false, value: value === undefined ? "" : JSON.stringify(value) });
    control.onchange = () => {
      try { set(control.value === "" ? undefined : JSON.parse(control.value)); } catch (e) { status(`${key}: not JSON (${e.message})`); }
    };
  }
  control.dataset.setting = key;
  return field(p.title || key, control, p.description, problems);
}

// A list setting as rows (`data-setting="<key>/<index>"` on each row's first control): text
// items as path inputs; object items (field mappings) as one input per property, and when the
// item is one of several forms told apart by a constant (`action: copy | rename | remove`), a
// choice of the form first. "Add" appends a row, ✕ removes one.
function listEditor(key, items, itemSchema, schema, set) {
  const forms = (itemSchema.oneOf || [itemSchema]).map((form) => resolve(form, schema));
  const tag = Object.keys(forms[0].properties || {}).find((prop) => forms.every((f) => f.properties?.[prop]?.const !== undefined));
  const formOf = (item) => forms.find((f) => !tag || f.properties[tag].const === item?.[tag]) || forms[0];
  const blank = (form) => Object.fromEntries(Object.entries(form.properties || {}).map(([prop, s]) => [prop, s.const ?? ""]));
  const objects = Boolean(itemSchema.properties || itemSchema.oneOf);
  const write = (next) => set(next.length ? next : undefined);
  const rows = items.map((item, i) => {
    const cells = [];
    if (!objects) {
      const input = el("input", { value: item ?? "", ariaLabel: `${key} ${i + 1}`, dataset: { setting: `${key}/${i}` } });
      input.setAttribute("list", "paths");
      input.onchange = () => write(items.map((it, j) => (j === i ? input.value : it)));
      cells.push(input);
    } else {
      const form = formOf(item);
      if (tag) {
        const kind = el("select", { ariaLabel: `${key} ${i + 1}: kind`, dataset: { setting: `${key}/${i}` } },
          ...forms.map((f) => el("option", { value: f.properties[tag].const, textContent: f.properties[tag].const, title: f.description || "" })));
        kind.value = form.properties[tag].const;
        kind.onchange = () => write(items.map((it, j) => (j === i ? blank(formOf({ [tag]: kind.value })) : it)));
        cells.push(kind);
      }
      for (const [prop, s] of Object.entries(form.properties || {}).filter(([, s]) => s.const === undefined)) {
        const input = el("input", { value: item?.[prop] ?? "", placeholder: prop, title: s.description || "", ariaLabel: `${key} ${i + 1}: ${prop}`,
          dataset: { setting: cells.length ? `${key}/${i}/${prop}` : `${key}/${i}` } });
        input.setAttribute("list", "paths");
        input.onchange = () => write(items.map((it, j) => (j === i ? { ...it, [prop]: input.value } : it)));
        cells.push(input);
      }
    }
    const remove = el("button", { className: "secondary", textContent: "✕", ariaLabel: `Remove ${key} ${i + 1}` });
    remove.onclick = () => write(items.filter((_, j) => j !== i));
    return el("div", { className: "listRow" }, ...cells, remove);
  });
  const add = el("button", { className: "secondary", textContent: "Add", ariaLabel: `Add to ${key}`, dataset: { addItem: key } });
  add.onclick = () => write([...items, objects ? blank(forms[0]) : ""]);
  return el("div", { className: "list", dataset: { list: key } }, ...rows, add);
}

// The paths a FieldOrValue setting of `step` may read (the drawer's one datalist, #paths): the
// fields the steps upstream of it write (as the server's validation found them), then the
// definitions and the system fields of `data`. `si` and `ki` place the step (its stage's
// index, its own in the stage).
function paths(step, si, ki) {
  const upstream = state.fields[`/dataflows/${state.flow}/stages/${si}/steps/${ki}`] || [];
  const data = [...Object.keys(state.doc.definitions || {}), ...state.systemFields].map((field) => "data." + field);
  return el("datalist", { id: "paths", dataset: { pathsOf: step.name } }, ...[...upstream, ...data].map((path) => el("option", { value: path })));
}

// The shown run's trace of the step: what it received (its source's items, or the run's input
// for a step that starts the dataflow), what it noted and what it emitted, secrets redacted.
function tracePanel(step) {
  const trace = state.trace.get(step.name);
  if (!trace) return [];
  const shown = (items) => (items === undefined || items === null ? "(no items kept)" : JSON.stringify(items, null, 1));
  const received = step.source ? state.trace.get(step.source)?.items : state.run?.input && [state.run.input];
  return [
    el("h3", { textContent: `Last run: ${trace.status}, ${(trace.durationNs / 1e6).toFixed(2)} ms` }),
    ...(trace.notes || []).map((note) => el("p", { className: "help", textContent: note })),
    state.run?.failedStep === step.name ? el("p", { className: "problem", textContent: state.run.message }) : null,
    el("h3", { textContent: `Received (${trace.itemsIn})` }),
    el("pre", { id: "receivedItems", tabIndex: 0, textContent: shown(received) }),
    el("h3", { textContent: `Emitted (${trace.itemsOut})` }),
    el("pre", { id: "traceItems", tabIndex: 0, textContent: shown(trace.items) }),
    step.source && state.run && received ? runFromButton(step) : null,
  ].filter(Boolean);
}

function runFromButton(step) {
  const button = el("button", { textContent: "Run from here with these items", dataset: { runFrom: step.name },
    title: "Runs this step and the steps it feeds on the items received above; the steps above it do not run" });
  button.onclick = () => runFrom(step);
  return button;
}

// ---- Running -----------------------------------------------------------------------------

$("run").onclick = async () => {
  $("runError").textContent = "";
  let input;
  try { input = JSON.parse($("runInput").value || "{}"); } catch (e) { $("runError").textContent = "the input is not JSON: " + e.message; return; }
  if (dirty()) status("running the saved version: save to run your changes");
  const path = `/api/components/${enc(state.doc.name)}/dataflows/${enc(dataflow().name)}/execute`;
  const runAs = $("runAs").value.trim();
  await showAnswer(await api("POST", path, input, runAs ? { "x-sluice-user": runAs } : {}));
};

// Shows a run's answer: the response, the trace on the canvas, the modal of an OpenModal action.
async function showAnswer(answer) {
  $("runError").textContent = "";
  $("runResponse").textContent = JSON.stringify(answer.json, null, 1);
  if (answer.status !== 200) $("runError").textContent = answer.json?.error?.message || "the run failed";
  const runId = answer.json?.runId || answer.json?.error?.runId;
  if (runId) {
    await showRun(runId);
    loadRuns();
  }
  for (const action of answer.json?.formActions || []) if (action.type === "OpenModal") openModal(action, state.doc.definitions);
}

// Runs the shown run's dataflow again from `step`, fed what its source emitted in that run.
async function runFrom(step) {
  if (dirty()) status("running the saved version: save to run your changes");
  await showAnswer(await api("POST", `/api/runs/${enc(state.run.id)}/run-from/${enc(step.name)}`));
}

// ---- Runs: the component's recent runs, one shown on the canvas, replayed and compared ------

async function loadRuns() {
  const list = $("runsList");
  const answer = await api("GET", `/api/runs?component=${enc(state.doc.name)}&limit=20`);
  list.replaceChildren(...(answer.status === 200 ? answer.json : []).map((run) => {
    const open = el("button", { className: "secondary", textContent: "Show on the canvas", dataset: { openRun: run.id } });
    open.onclick = () => showRun(run.id);
    const replay = el("button", { className: "secondary", textContent: "Replay", dataset: { replayRun: run.id },
      title: "A dry run: no code is issued, nothing is sent or written" });
    replay.onclick = () => replayRun(run.id, false);
    const forReal = el("button", { className: "secondary", textContent: "Replay for real", dataset: { replayEffects: run.id },
      title: "Issues codes, sends messages and writes entries again" });
    forReal.onclick = () => { if (confirm("Replay for real: codes are issued, messages sent and entries written again. Go on?")) replayRun(run.id, true); };
    const when = new Date(run.startedAt).toLocaleString(state.lang);
    const who = run.userName || run.user;
    return el("div", { dataset: { run: run.id, status: run.status } },
      el("span", { textContent: run.status }),
      el("span", { textContent: `${run.dataflow} · ${when} · ${who ? "as " + who : "no user"} · ${(run.durationUs / 1000).toFixed(1)} ms`, title: run.user || "" }),
      open, replay, forReal);
  }));
}
$("refreshRuns").onclick = loadRuns;

// Opens a run's dataflow and marks each card with that run's trace.
async function showRun(id) {
  const answer = await api("GET", "/api/runs/" + enc(id));
  if (answer.status !== 200) { status(answer.json?.error?.message || "no run " + id); return; }
  const run = answer.json;
  const flow = state.doc.dataflows.findIndex((f) => f.name === run.dataflow);
  if (flow < 0) { status(`the run's dataflow ${run.dataflow} is not in this component any more`); return; }
  state.flow = flow;
  state.run = run;
  state.trace = new Map((run.trace || []).map((t) => [t.step, t]));
  render();
}

// Replays a run without its effects (no code, no mail, no write) and compares the outcomes.
// Replays a recorded run with the component as saved now: a dry run, or with `effects` for real.
async function replayRun(id, effects) {
  const answer = await api("POST", `/api/runs/${enc(id)}/replay${effects ? "?effects=true" : ""}`);
  if (answer.status !== 200) { $("replayVerdict").textContent = answer.json?.error?.message || "not replayed"; return; }
  const { matches, recorded, replayed } = answer.json;
  const how = effects ? "for real: codes issued, messages sent, entries written" : "a dry run: nothing was sent or written";
  $("replayVerdict").textContent = `${matches ? "Same outcome" : "Different outcome"} (${how})`;
  $("replayVerdict").dataset.matches = String(matches);
  showDiff($("replayDiff"), JSON.stringify(recorded, null, 2).split("\n"), JSON.stringify(replayed, null, 2).split("\n"));
}

if (credential.value) start();
