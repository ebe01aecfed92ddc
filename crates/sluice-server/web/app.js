// The Sluice web page: sign in, pick a component, fill its form, run its dataflows, and show
// what they return (an OpenModal form action opens the modal).
"use strict";

let current = null;

function signedIn(newToken, who) {
  credential.value = newToken;
  $("who").textContent = who;
  $("signin").hidden = true;
  $("app").hidden = false;
  $("signOut").hidden = false;
  loadComponents();
}

// Ends the session on the server (a builder token has none), then forgets the token.
$("signOut").onclick = async () => {
  await api("DELETE", "/api/session");
  credential.value = null;
  location.reload();
};

$("signIn").onclick = async () => {
  const answer = await api("POST", "/api/session", { userName: $("userName").value, password: $("password").value });
  if (answer.status === 200) signedIn(answer.json.token, $("userName").value);
  else $("signinError").textContent = answer.json?.error?.message || "sign-in failed";
};
$("useToken").onclick = () => signedIn($("adminToken").value, "builder");

// Two-factor sign-in through a component's public Login and Verify dataflows
// (the server names the component: sluice serve --signin-component, EmailTwoFactor by default).
const signinComponent = document.querySelector('meta[name="sluice-signin"]')?.content || "EmailTwoFactor";
const flow = (name) => "/api/components/" + encodeURIComponent(signinComponent) + "/dataflows/" + name + "/execute";

let challenge = "";
$("sendCode").onclick = async () => {
  $("signinError").textContent = "";
  const answer = await api("POST", flow("Login"), { data: { UserName: $("userName").value, Password: $("password").value } });
  // The code's challenge id: Verify checks the typed code against that code only.
  challenge = answer.json?.response?.[0]?._otpChallenge || "";
  if (answer.status === 200) $("codeStep").hidden = false;
  else $("signinError").textContent = answer.json?.error?.message || "sign-in failed";
};

$("verifyCode").onclick = async () => {
  const answer = await api("POST", flow("Verify"), { data: { UserName: $("userName").value, Code: $("code").value, Challenge: challenge } });
  const session = answer.json?.response?.[0]?._session;
  if (answer.status === 200 && session) signedIn(session.token, $("userName").value);
  else $("signinError").textContent = answer.json?.error?.message || "the code was refused";
};
// Enter in a field runs nothing by itself (the Content-Security-Policy allows no inline handler).
$("form").addEventListener("submit", (event) => event.preventDefault());

async function loadComponents() {
  const answer = await api("GET", "/api/components");
  if (answer.status === 401) { credential.value = null; location.reload(); return; }
  const list = $("components");
  list.replaceChildren();
  for (const c of answer.json || []) {
    const button = document.createElement("button");
    button.className = "secondary";
    button.dataset.component = c.name;
    button.textContent = c.title || c.name;
    button.onclick = () => openComponent(c.name);
    list.append(button);
  }
}

const inputType = { number: "number", integer: "number", boolean: "checkbox", date: "date", datetime: "datetime-local", time: "time" };

async function openComponent(name) {
  const answer = await api("GET", "/api/components/" + encodeURIComponent(name));
  if (answer.status !== 200) { $("runError").textContent = answer.json?.error?.message; return; }
  current = answer.json.component;
  $("componentTitle").textContent = current.title || current.name;
  const form = $("form");
  form.replaceChildren();
  for (const [field, definition] of Object.entries(current.definitions || {})) {
    const label = document.createElement("label");
    label.htmlFor = "field-" + field;
    label.textContent = definition.title || field;
    const input = document.createElement("input");
    input.id = "field-" + field;
    input.name = field;
    input.type = inputType[definition.type] || "text";
    form.append(label, input);
  }
  const buttons = $("buttons");
  buttons.replaceChildren();
  for (const dataflow of current.dataflows) {
    const button = document.createElement("button");
    button.dataset.dataflow = dataflow.name;
    button.textContent = dataflow.name;
    button.onclick = () => execute(dataflow.name);
    buttons.append(button);
  }
}

function formData() {
  const data = {};
  for (const input of $("form").elements) {
    if (input.type === "checkbox") data[input.name] = input.checked;
    else if (input.type === "number") data[input.name] = input.value === "" ? null : Number(input.value);
    else data[input.name] = input.value === "" ? null : input.value;
  }
  return data;
}

async function execute(dataflow) {
  $("runError").textContent = "";
  const path = "/api/components/" + encodeURIComponent(current.name) + "/dataflows/" + encodeURIComponent(dataflow) + "/execute";
  const answer = await api("POST", path, { data: formData() });
  $("response").textContent = JSON.stringify(answer.json, null, 2);
  if (answer.status !== 200) {
    $("runError").textContent = answer.json?.error?.message || "the run failed";
    return;
  }
  for (const action of answer.json.formActions || []) {
    if (action.type === "OpenModal") openModal(action, current.definitions);
  }
}

if (credential.value) {
  signedIn(credential.value, "");
  api("GET", "/api/session").then((answer) => {
    if (answer.status === 200) $("who").textContent = answer.json.builder ? answer.json.name : answer.json.userName;
  });
}
