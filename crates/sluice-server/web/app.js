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
  $("enrolApp").hidden = !accounts.authenticator;
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

// The components the server names for the sign-in (sluice serve --signin-component,
// EmailTwoFactor by default) and the account pages (--signup-component and the like; a page
// whose component is not named is not offered).
const named = (name) => document.querySelector(`meta[name="sluice-${name}"]`)?.content || null;
const signinComponent = named("signin") || "EmailTwoFactor";
const accounts = { signup: named("signup"), reset: named("password-reset"), authenticator: named("authenticator") };
const dataflowOf = (component, name) => "/api/components/" + encodeURIComponent(component) + "/dataflows/" + name + "/execute";
const flow = (name) => dataflowOf(signinComponent, name);
const problem = (answer, otherwise) => answer.json?.error?.message || otherwise;

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
// The account pages. Each runs a public dataflow of the component the server names for it.
$("showSignup").hidden = !accounts.signup;
$("showForgot").hidden = !accounts.reset;
$("appStep").hidden = !accounts.authenticator;
$("showSignup").onclick = () => { $("signup").hidden = false; $("forgot").hidden = true; };
$("showForgot").onclick = () => { $("forgot").hidden = false; $("signup").hidden = true; };
const tell = (text) => { $("signinError").textContent = ""; $("accountMessage").textContent = text; };
const refuse = (text) => { $("accountMessage").textContent = ""; $("signinError").textContent = text; };

$("register").onclick = async () => {
  const data = { UserName: $("signupName").value, Email: $("signupEmail").value, Password: $("signupPassword").value };
  const answer = await api("POST", dataflowOf(accounts.signup, "Register"), { data });
  if (answer.status !== 200) return refuse(problem(answer, "the account could not be created"));
  $("signup").hidden = true;
  tell("Check your e-mail: the link in it confirms your address, then you can sign in.");
};

$("sendLink").onclick = async () => {
  const answer = await api("POST", dataflowOf(accounts.reset, "ForgotPassword"), { data: { UserName: $("forgotName").value } });
  if (answer.status !== 200) return refuse(problem(answer, "the link could not be sent"));
  $("forgot").hidden = true;
  tell("If that user exists, a link to choose a new password is on its way by e-mail.");
};

// A link's page: its token is read once and taken out of the address bar (and the history).
const landing = location.pathname;
const linkToken = new URLSearchParams(location.search).get("token") || "";
if (landing.startsWith("/account/")) history.replaceState(null, "", "/");

if (landing === "/account/confirm-email" && accounts.signup) {
  api("POST", dataflowOf(accounts.signup, "ConfirmEmail"), { data: { Token: linkToken } }).then((answer) => {
    if (answer.status === 200) tell("Your address is confirmed: sign in.");
    else refuse(problem(answer, "this link does not work"));
  });
}

if (landing === "/account/reset-password" && accounts.reset) $("reset").hidden = false;
$("setPassword").onclick = async () => {
  const data = { Token: linkToken, Password: $("newPassword").value };
  const answer = await api("POST", dataflowOf(accounts.reset, "ResetPassword"), { data });
  if (answer.status !== 200) return refuse(problem(answer, "the password could not be set"));
  $("reset").hidden = true;
  tell("Your password is set: sign in with it.");
};

$("signInWithApp").onclick = async () => {
  const data = { UserName: $("userName").value, Password: $("password").value, Code: $("appCode").value };
  const answer = await api("POST", dataflowOf(accounts.authenticator, "Login"), { data });
  const session = answer.json?.response?.[0]?._session;
  if (answer.status === 200 && session) signedIn(session.token, $("userName").value);
  else refuse(problem(answer, "the code was refused"));
};

// Enrolment: the QR code (an SVG document from the server, parsed as such, never as HTML),
// the key and the recovery codes, shown once; the app's first code confirms it.
$("enrolApp").onclick = async () => {
  const answer = await api("POST", dataflowOf(accounts.authenticator, "Enrol"), { data: {} });
  const app = answer.json?.response?.[0]?._authenticator;
  if (answer.status !== 200 || !app) { $("runError").textContent = problem(answer, "the app could not be added"); return; }
  const svg = new DOMParser().parseFromString(app.qrSvg, "image/svg+xml").documentElement;
  $("qr").replaceChildren(document.importNode(svg, true));
  $("appSecret").textContent = app.secret;
  $("recoveryCodes").replaceChildren(...app.recoveryCodes.map((code) => el("li", { textContent: code })));
  $("enrolmentMessage").textContent = "";
  $("enrolment").hidden = false;
};
$("confirmEnrolment").onclick = async () => {
  const answer = await api("POST", dataflowOf(accounts.authenticator, "ConfirmEnrolment"), { data: { Code: $("enrolCode").value } });
  $("enrolmentMessage").textContent = answer.status === 200
    ? "Your authenticator app is set up: sign in with its codes from now on."
    : problem(answer, "the code was refused; try the next one");
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
