// Free-text response: the prompt, the original for a rewrite, an editor with a length counter
// against the schema's bounds, and a line diff of the original against the edited text.

import { lengthStatus } from "./answer";
import { diffSummary, lineDiff } from "./diff";
import { h, textBlock, uid } from "./dom";
import type { AnswerState, FreeTextSchema, FreeTextState } from "./types";
import type { View, ViewContext } from "./view";

const MARKS = { same: " ", removed: "−", added: "+" } as const;
const SPOKEN = { same: "unchanged", removed: "removed", added: "added" } as const;

function renderDiff(target: HTMLElement, summary: HTMLElement, before: string, after: string): void {
  const lines = lineDiff(before, after);
  target.replaceChildren();
  if (lines === null) {
    summary.textContent = "The texts are too long to compare line by line.";
    return;
  }
  summary.textContent = diffSummary(lines);
  for (const line of lines) {
    target.append(
      h(
        "div",
        { class: `ws-diff-line ${line.kind}` },
        h("span", { class: "ws-diff-mark", "aria-hidden": "true" }, MARKS[line.kind]),
        h("span", { class: "visually-hidden" }, `${SPOKEN[line.kind]}: `),
        line.text || " ",
      ),
    );
  }
}

export function freeTextView(context: ViewContext<FreeTextState, FreeTextSchema>): View {
  const { schema, data } = context;
  const rewrite = schema.mode === "rewrite" && typeof data["response"] === "string";
  const original = rewrite ? (data["response"] as string) : "";
  const editorId = uid("ws-editor");
  const counterId = uid("ws-counter");
  const editor = h("textarea", {
    id: editorId,
    class: "ws-editor",
    rows: 6,
    spellcheck: "true",
    "aria-describedby": counterId,
  });
  const counter = h("p", { class: "help ws-counter", id: counterId });
  const diffLines = h("div", { class: "ws-diff-lines" });
  const diffSummaryLine = h("p", { class: "help", "aria-live": "polite" });
  editor.addEventListener("input", () => context.change({ text: editor.value }, "text"));
  const content = h(
    "div",
    {},
    textBlock("Prompt", data["prompt"], uid("ws-prompt")),
    rewrite ? textBlock("Original response", original, uid("ws-original")) : null,
    h("label", { for: editorId }, rewrite ? "Your rewrite" : "Your response"),
    editor,
    counter,
    rewrite
      ? h("section", { class: "ws-diff", "aria-label": "Changes from the original" }, h("h2", { class: "ws-field-title" }, "Changes from the original"), diffSummaryLine, diffLines)
      : null,
  );
  const bounds =
    schema.max_length === undefined
      ? `At least ${schema.min_length} characters.`
      : `Between ${schema.min_length} and ${schema.max_length} characters.`;
  const answer = h(
    "div",
    { class: "ws-guidelines" },
    h("h2", { class: "ws-field-title" }, "Length"),
    h("p", {}, bounds),
    schema.guidelines ? h("h2", { class: "ws-field-title" }, "Guidelines") : null,
    schema.guidelines ? h("div", { class: "ws-text" }, schema.guidelines) : null,
  );

  return {
    content,
    answer,
    show(state: AnswerState) {
      const text = (state as FreeTextState).text;
      if (editor.value !== text) editor.value = text;
      const status = lengthStatus(text, schema.min_length, schema.max_length);
      counter.textContent = status.ok ? status.text : `⚠ ${status.text}`;
      counter.classList.toggle("ws-bad", !status.ok);
      if (rewrite) renderDiff(diffLines, diffSummaryLine, original, text);
    },
    key: () => false,
    focus() {
      editor.focus();
    },
  };
}
