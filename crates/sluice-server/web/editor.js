"use strict";
// The builder's editor for settings whose schema gives a text's media type (contentMediaType):
// line numbers, Rhai highlighting for scripts, and the line a run failed at marked. A textarea
// the person types into lies over a highlighted copy of its text (transparent text, visible
// caret), so typing, selection, undo and the keyboard are the browser's own; see
// docs/builder.md for why this and not CodeMirror.

const RHAI_KEYWORDS = new Set([
  "let", "const", "if", "else", "switch", "while", "loop", "do", "until", "for", "in", "continue",
  "break", "return", "throw", "try", "catch", "fn", "private", "global", "this",
]);
const RHAI_LITERALS = new Set(["true", "false", "item"]);

// Rhai's tokens, longest first where they overlap: comments, strings (with escapes, possibly
// unclosed while typing), numbers, names, and any other character.
const RHAI_TOKEN = /\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|"(?:[^"\\\n]|\\.)*"?|`(?:[^`\\]|\\[\s\S])*`?|'(?:[^'\\\n]|\\.)*'?|0x[0-9a-fA-F_]+|0b[01_]+|0o[0-7_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*|[\s\S]/g;

// The tokens of a Rhai script as [class, text] pairs (class "" for plain text).
function rhaiTokens(text) {
  const tokens = [];
  for (const [token] of text.matchAll(RHAI_TOKEN)) {
    const first = token[0];
    let kind = "";
    if (token.startsWith("//") || token.startsWith("/*")) kind = "comment";
    else if (first === '"' || first === "`" || first === "'") kind = "string";
    else if (/\d/.test(first)) kind = "number";
    else if (RHAI_KEYWORDS.has(token)) kind = "keyword";
    else if (RHAI_LITERALS.has(token)) kind = "literal";
    tokens.push([kind, token]);
  }
  return tokens;
}

// A minijinja template's tokens: `{{ … }}` and `{% … %}` as code, `{# … #}` as comments.
const JINJA_TOKEN = /\{\{[\s\S]*?(?:\}\}|$)|\{%[\s\S]*?(?:%\}|$)|\{#[\s\S]*?(?:#\}|$)|[^{]+|\{/g;
function jinjaTokens(text) {
  return [...text.matchAll(JINJA_TOKEN)].map(([token]) =>
    [token.startsWith("{#") ? "comment" : token.startsWith("{{") || token.startsWith("{%") ? "keyword" : "", token]);
}

const TOKENIZERS = { "text/x-rhai": rhaiTokens, "text/x-jinja": jinjaTokens };

// The highlighted text as one block per line (a line's tokens may continue on the next).
function highlighted(text, mediaType, failedLine) {
  const tokens = (TOKENIZERS[mediaType] || ((t) => [["", t]]))(text);
  const lines = [el("span", { className: "line" })];
  for (const [kind, token] of tokens) {
    token.split("\n").forEach((part, i) => {
      if (i > 0) lines.push(el("span", { className: "line" }));
      if (part) lines.at(-1).append(kind ? el("span", { className: "tok-" + kind, textContent: part }) : part);
    });
  }
  lines.forEach((line, i) => {
    if (!line.childNodes.length) line.append(" ");
    if (i + 1 === failedLine) line.classList.add("failed");
  });
  return lines;
}

// An editor for `value` of `mediaType`; `failedAt` ({line, column}) marks where a run failed.
// Returns the wrapper to place and the textarea (the control: label it, hook it, read it).
function codeEditor(value, mediaType, failedAt) {
  const input = el("textarea", { className: "code", spellcheck: false, wrap: "off", value: value ?? "" });
  input.setAttribute("autocapitalize", "off");
  const gutter = el("div", { className: "gutter", ariaHidden: "true" });
  const copy = el("pre", { className: "copy", ariaHidden: "true" });
  const draw = () => {
    const lines = input.value.split("\n").length;
    input.rows = Math.min(Math.max(lines + 1, 6), 24);
    gutter.replaceChildren(...Array.from({ length: lines }, (_, i) => {
      const number = el("span", { textContent: String(i + 1) });
      if (failedAt && i + 1 === failedAt.line) {
        number.className = "failed";
        number.dataset.failedLine = String(failedAt.line);
        number.title = `the run failed here (line ${failedAt.line}, column ${failedAt.column})`;
      }
      return number;
    }));
    copy.replaceChildren(...highlighted(input.value, mediaType, failedAt?.line));
    follow();
  };
  const follow = () => {
    copy.scrollTop = gutter.scrollTop = input.scrollTop;
    copy.scrollLeft = input.scrollLeft;
  };
  input.addEventListener("input", draw);
  input.addEventListener("scroll", follow);
  draw();
  const wrapper = el("div", { className: "editor", dataset: { mediaType } }, gutter, el("div", { className: "surface" }, copy, input));
  return { wrapper, input };
}
