// NER spans: the text with its spans as marked pieces (text nodes only, never HTML), a caret
// moved with the arrows (Shift extends a selection) or a mouse selection, a label's key to label
// the selection or relabel the selected span, Tab between spans and Delete to remove one. With
// relation labels in the schema, Enter on a selected span starts a relation from it, Enter on
// another ends it there (then a number picks the relation's label when there are several); the
// relations are listed beside the text, each with a button that removes it.
// Offsets here are UTF-16 (the DOM's); the state and the result are code points (spans.ts).

import { labelKeys } from "./answer";
import { h, labelButtons, uid } from "./dom";
import {
  addRelation,
  addSpan,
  relabel,
  removeRelation,
  removeSpan,
  segments,
  spanIndex,
  stepSpan,
  toCodePoint,
  toUtf16,
} from "./spans";
import type { AnswerState, NerSchema, NerState, Span } from "./types";
import type { View, ViewContext } from "./view";

/** One code point left or right of a UTF-16 offset. */
function step(text: string, at: number, back: boolean): number {
  const points = toCodePoint(text, at) + (back ? -1 : 1);
  return points < 0 ? 0 : toUtf16(text, points);
}

export function nerView(context: ViewContext<NerState, NerSchema>): View {
  const { schema } = context;
  const text = typeof context.data["text"] === "string" ? context.data["text"] : "";
  const byKey = labelKeys(schema);
  const keyOf = new Map([...byKey].map(([key, name]) => [name, key]));
  let caret = 0;
  let anchor: number | null = null;
  let selected: number | null = null;
  const kinds = schema.relations ?? [];
  // A relation being made: from this span (Enter), then to that one, waiting for its label.
  let linkFrom: number | null = null;
  let picking: { from: number; to: number } | null = null;

  const titleId = uid("ws-text");
  const helpId = uid("ws-ner-help");
  const box = h("div", {
    class: "task-text ws-text ws-ner",
    tabindex: 0,
    role: "textbox",
    "aria-readonly": "true",
    "aria-multiline": "true",
    "aria-labelledby": titleId,
    "aria-describedby": helpId,
  });
  const status = h("p", { class: "help", role: "status" });
  const list = h("ol", { class: "ws-span-list", "aria-label": "Spans" });
  const links = h("ol", { class: "ws-span-list ws-relation-list", "aria-label": "Relations" });
  const buttons = labelButtons(schema.labels, keyOf, apply);
  const kindNames = kinds.slice(0, 9).map((kind, i) => `${i + 1} ${kind.name}`).join(" · ");
  const answer = h(
    "div",
    {},
    h("fieldset", { class: "ws-choices" }, h("legend", {}, "Label the selection"), ...buttons),
    status,
    h("h2", { class: "ws-field-title" }, "Spans"),
    list,
    kinds.length ? h("h2", { class: "ws-field-title" }, "Relations") : null,
    kinds.length ? h("p", { class: "help" }, `Enter on a selected span, then Enter on another: ${kindNames}.`) : null,
    kinds.length ? links : null,
  );
  const content = h(
    "section",
    { class: "task-field" },
    h("h2", { class: "ws-field-title", id: titleId }, "Text"),
    h("p", { class: "help", id: helpId }, "Arrows move the caret, Shift+arrows select, a label's key labels; or select with the mouse."),
    box,
  );

  const current = (): NerState => context.current();
  const say = (message: string): void => void (status.textContent = message);

  function apply(label: string): void {
    const state = current();
    const from = anchor === null ? caret : Math.min(anchor, caret);
    const to = anchor === null ? caret : Math.max(anchor, caret);
    const edit =
      from === to && selected !== null
        ? relabel(schema, state, selected, label)
        : addSpan(schema, state, { start: toCodePoint(text, from), end: toCodePoint(text, to), label });
    if (!edit.ok) return say(edit.problem);
    say("");
    selected = edit.index;
    anchor = null;
    caret = toUtf16(text, edit.state.spans[edit.index]!.end);
    context.change(edit.state);
  }

  /** The UTF-16 offset of a point of a DOM selection, through the piece it fell in. */
  function offsetOf(node: Node | null, offset: number): number | null {
    const piece = node instanceof Element ? node.closest("[data-from]") : node?.parentElement?.closest("[data-from]");
    if (!piece || !box.contains(piece)) return null;
    const from = Number(piece.getAttribute("data-from"));
    return node instanceof Text ? from + offset : from;
  }

  box.addEventListener("mouseup", () => {
    const chosen = window.getSelection();
    if (!chosen || chosen.rangeCount === 0) return;
    const a = offsetOf(chosen.anchorNode, chosen.anchorOffset);
    const b = offsetOf(chosen.focusNode, chosen.focusOffset);
    if (a === null || b === null) return;
    // Snap to whole code points, so a selection never splits an emoji.
    anchor = toUtf16(text, toCodePoint(text, a));
    caret = toUtf16(text, toCodePoint(text, b));
    if (anchor === caret) anchor = null;
    selected = null;
    chosen.removeAllRanges();
    render(current());
    box.focus();
  });

  function spanText(span: Span): string {
    return text.slice(toUtf16(text, span.start), toUtf16(text, span.end));
  }

  const spanWords = (span: Span | undefined): string => (span ? `${span.label} “${spanText(span)}”` : "?");

  function relate(from: number, to: number, label: string): void {
    linkFrom = picking = null;
    const edit = addRelation(current(), from, to, label);
    if (!edit.ok) return say(edit.problem);
    say(`Relation added: ${spanWords(current().spans[from])} → ${spanWords(current().spans[to])} (${label}).`);
    context.change(edit.state);
  }

  /** Enter on the selected span: start a relation there, end it there, or cancel it. */
  function link(): boolean {
    if (kinds.length === 0 || selected === null) return false;
    if (picking !== null || linkFrom === selected) {
      linkFrom = picking = null;
      say("No relation made.");
    } else if (linkFrom === null) {
      linkFrom = selected;
      say(`Relation from ${spanWords(current().spans[selected])}: Tab to the other span and press Enter.`);
    } else if (kinds.length === 1) relate(linkFrom, selected, kinds[0]!.name);
    else {
      picking = { from: linkFrom, to: selected };
      say(`The relation's label: ${kindNames} (another key: none).`);
    }
    render(current());
    return true;
  }

  function renderLinks(state: NerState): void {
    const relations = state.relations ?? [];
    links.replaceChildren(
      ...relations.map((relation, index) => {
        const from = state.spans[spanIndex(state, relation.from)];
        const to = state.spans[spanIndex(state, relation.to)];
        const words = `${spanWords(from)} → ${spanWords(to)}: ${relation.label}`;
        const remove = h("button", { type: "button", class: "link", "aria-label": `Remove the relation ${words}` }, "remove");
        remove.addEventListener("click", () => {
          say("Relation removed (Ctrl+Z brings it back).");
          context.change(removeRelation(current(), index));
        });
        return h("li", {}, `${words} `, remove);
      }),
    );
    if (relations.length === 0) links.replaceChildren(h("li", { class: "help" }, "No relation yet."));
  }

  function render(state: NerState): void {
    if (selected !== null && selected >= state.spans.length) selected = null;
    if (linkFrom !== null && linkFrom >= state.spans.length) linkFrom = picking = null;
    const low = anchor === null ? caret : Math.min(anchor, caret);
    const high = anchor === null ? caret : Math.max(anchor, caret);
    const pieces = segments(text, state.spans, [low, high]);
    const nodes: Node[] = [];
    const last = new Map<number, number>(); // span index → the piece it ends in
    pieces.forEach((piece, i) => piece.covering.forEach((s) => last.set(s, i)));
    pieces.forEach((piece, i) => {
      if (piece.from === caret) nodes.push(h("span", { class: "ws-caret", "aria-hidden": "true" }));
      const marked = piece.covering.length > 0;
      const classes = [marked ? "ws-span" : "", piece.from >= low && piece.to <= high && low < high ? "ws-selection" : ""];
      if (selected !== null && piece.covering.includes(selected)) classes.push("ws-span-current");
      if (linkFrom !== null && piece.covering.includes(linkFrom)) classes.push("ws-span-link");
      if (piece.covering.length > 1) classes.push("ws-span-nested");
      nodes.push(h(marked ? "mark" : "span", { class: classes.join(" ").trim() || undefined, "data-from": piece.from }, text.slice(piece.from, piece.to)));
      for (const [s, end] of last) if (end === i) nodes.push(h("span", { class: "ws-span-tag" }, `[${state.spans[s]!.label}]`));
    });
    if (caret === text.length) nodes.push(h("span", { class: "ws-caret", "aria-hidden": "true" }));
    box.replaceChildren(...nodes);
    list.replaceChildren(
      ...state.spans.map((span, index) => {
        const item = h("li", { class: index === selected ? "ws-span-current" : undefined, "aria-current": index === selected ? "true" : undefined });
        const pick = h("button", { type: "button", class: "link" }, `${span.label}: “${spanText(span)}”`);
        pick.addEventListener("click", () => select(index));
        item.append(pick);
        return item;
      }),
    );
    if (state.spans.length === 0) list.replaceChildren(h("li", { class: "help" }, "No span yet."));
    if (kinds.length) renderLinks(state);
  }

  function select(index: number | null): void {
    selected = index;
    anchor = null;
    if (index !== null) caret = toUtf16(text, current().spans[index]!.start);
    render(current());
    const span = index === null ? null : current().spans[index];
    say(span ? `Selected ${span.label}: “${spanText(span)}” (Delete removes it)` : "");
    box.focus();
  }

  function nav(key: string, shift: boolean): boolean {
    if (document.activeElement !== box) return false;
    if (key === "Enter") return link();
    if (key === "Tab") {
      const next = stepSpan(current(), selected, shift);
      if (next === null) return false; // past the last span: the focus moves on
      select(next);
      return true;
    }
    if (key === "Delete" || key === "Backspace") {
      if (selected === null) return false;
      const index = selected;
      selected = linkFrom = picking = null;
      say("Span removed (Ctrl+Z brings it back).");
      context.change(removeSpan(current(), index));
      return true;
    }
    if (key === "ArrowUp" || key === "ArrowDown") return false; // the page scrolls, as before
    if (shift && anchor === null) anchor = caret;
    if (!shift) anchor = null;
    caret = key === "Home" ? 0 : key === "End" ? text.length : step(text, caret, key === "ArrowLeft");
    if (anchor === caret) anchor = null;
    selected = null;
    render(current());
    return true;
  }

  return {
    content,
    answer,
    show: (state: AnswerState) => render(state as NerState),
    key(key: string) {
      if (picking !== null) {
        // Waiting for the relation's label: a number picks it, any other key makes none.
        const kind = /^[1-9]$/.test(key) ? kinds[Number(key) - 1] : undefined;
        const { from, to } = picking;
        if (kind) relate(from, to, kind.name);
        else {
          linkFrom = picking = null;
          say("No relation made.");
        }
        render(current());
        return true;
      }
      const label = byKey.get(key);
      if (label === undefined) return false;
      apply(label);
      return true;
    },
    nav,
    focus: () => box.focus(),
  };
}
