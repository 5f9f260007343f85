// The one keyboard map (docs/design ui.md): which key does what, whatever the task type, and the
// list the help overlay shows. Pure: the page turns a KeyboardEvent into a KeyInput.

import { keyOfPoint, labelKeys, scaleKeys, scalePoints } from "./answer";
import { flagKeys } from "./chatturns";
import type {
  BoxesSchema,
  ChatSchema,
  ClassificationSchema,
  FreeTextSchema,
  NerSchema,
  PairwiseSchema,
  RubricSchema,
  Schema,
  TaskType,
} from "./types";

export interface KeyInput {
  key: string;
  ctrl: boolean;
  meta: boolean;
  shift: boolean;
  alt: boolean;
  /** The key went to a text field: single-letter keys are the person's text, not commands. */
  typing: boolean;
}

/** What the page is doing: answering a task, showing help or the skip reasons, or neither. */
export type Mode = "work" | "help" | "skip" | "idle";

export type Command =
  | { kind: "submit" | "undo" | "redo" | "skip" | "help" | "escape" }
  | { kind: "key"; key: string }
  | Nav;

/** A key that moves or removes (spans' caret, Tab between spans, Delete); a view that does not
 *  use it leaves the browser's own behaviour (focus, radio groups) alone. */
export interface Nav {
  kind: "nav";
  key: string;
  shift: boolean;
}

const NAV_KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "Tab", "Delete", "Backspace", "Enter"]);

/** The navigation command of a key, if it is one, outside text fields. */
export function navFor(input: KeyInput): Nav | null {
  if (input.typing || input.alt || input.ctrl || input.meta || !NAV_KEYS.has(input.key)) return null;
  return { kind: "nav", key: input.key, shift: input.shift };
}

const TEXT_INPUTS = new Set(["text", "search", "email", "url", "tel", "password", "number"]);

/** Whether an element takes typed text (so single keys must not act on the page). */
export function isTextField(element: Element | null): boolean {
  if (!element) return false;
  if (element instanceof HTMLTextAreaElement || element instanceof HTMLSelectElement) return true;
  if (element instanceof HTMLInputElement) return TEXT_INPUTS.has(element.type);
  return element instanceof HTMLElement && element.isContentEditable === true;
}

function modified(input: KeyInput, mode: Mode): Command | null {
  const key = input.key.toLowerCase();
  if (mode !== "work") return null;
  if (key === "enter" && !input.alt) return { kind: "submit" };
  if (key === "z" && !input.alt) return { kind: input.shift ? "redo" : "undo" };
  if (key === "y" && !input.alt && !input.shift) return { kind: "redo" };
  return null;
}

export function commandFor(input: KeyInput, mode: Mode): Command | null {
  if (input.key === "Escape") return { kind: "escape" };
  if (input.ctrl || input.meta) return modified(input, mode);
  if (mode === "work" && navFor(input)) return navFor(input);
  if (input.alt || input.typing || input.key.length !== 1) return null;
  if (input.key === "?") return mode === "skip" ? null : { kind: "help" };
  const key = input.key.toLowerCase();
  if (mode === "skip") return { kind: "key", key };
  if (mode !== "work") return null;
  if (key === "s") return { kind: "skip" };
  return { kind: "key", key };
}

/** The key that picks each skip reason, in the API's order: 1, 2, … */
export function reasonKeys(reasons: readonly { value: string }[]): Map<string, string> {
  return new Map(reasons.slice(0, 9).map((reason, index) => [String(index + 1), reason.value]));
}

// --- The help overlay -------------------------------------------------------------------------

export type Shortcut = [keys: string, action: string];

const COMMON: Shortcut[] = [
  ["Ctrl+Enter", "Submit and go to the next task"],
  ["S", "Skip (then a number picks the reason)"],
  ["Ctrl+Z", "Undo"],
  ["Ctrl+Shift+Z", "Redo"],
  ["Tab / Shift+Tab", "Next / previous field"],
  ["?", "Show or hide this list"],
  ["Esc", "Close this list or the skip question"],
];

function rangeText(keys: string[]): string {
  return keys.length > 2 ? `${keys[0]}–${keys[keys.length - 1]}` : keys.join(", ");
}

function classificationKeys(schema: ClassificationSchema): Shortcut[] {
  const verb = schema.multiple ? "Toggle" : "Choose";
  return [...labelKeys(schema)].map(([key, name]) => [key.toUpperCase(), `${verb} “${name}”`]);
}

function nerKeys(schema: NerSchema): Shortcut[] {
  return [
    ...[...labelKeys(schema)].map(([key, name]): Shortcut => [key.toUpperCase(), `Label the selection (or the selected span) “${name}”`]),
    ["← / →", "Move the caret in the text"],
    ["Shift+← / Shift+→", "Select text from the caret"],
    ["Tab / Shift+Tab", "Next / previous span"],
    ["Delete", "Remove the selected span"],
    ...relationKeys(schema),
  ];
}

function relationKeys(schema: NerSchema): Shortcut[] {
  const kinds = schema.relations ?? [];
  if (kinds.length === 0) return [];
  const out: Shortcut[] = [["Enter", "On the selected span: start a relation from it; on another: end it there"]];
  if (kinds.length > 1) out.push([rangeText(kinds.slice(0, 9).map((_, i) => String(i + 1))), "Then pick the relation's label"]);
  return out;
}

function pairwiseKeys(schema: PairwiseSchema): Shortcut[] {
  const names = { a: "Response A is better", b: "Response B is better", tie: "A tie" };
  const out: Shortcut[] = (schema.choices ?? ["a", "b", "tie"]).map((choice) => [
    choice === "tie" ? "T" : choice.toUpperCase(),
    names[choice],
  ]);
  if (schema.strength) {
    const scale = schema.strength;
    const keys = [...scaleKeys(scale).keys()];
    out.push([rangeText(keys), `Strength ${scale.min} to ${scale.max}`]);
  }
  return out;
}

function rubricKeys(schema: RubricSchema): Shortcut[] {
  const seen = new Set<string>();
  const out: Shortcut[] = [];
  for (const criterion of schema.criteria) {
    const scale = criterion.scale;
    const keys = scalePoints(scale).map((p) => keyOfPoint(scale, p)).filter((k) => k !== undefined);
    const text = `${rangeText(keys)}`;
    if (seen.has(`${text}:${scale.min}:${scale.max}`)) continue;
    seen.add(`${text}:${scale.min}:${scale.max}`);
    out.push([text, `Rate the focused criterion ${scale.min} to ${scale.max}`]);
  }
  out.push(["Tab / Shift+Tab", "Next / previous criterion"]);
  return out;
}

function chatKeys(schema: ChatSchema): Shortcut[] {
  const turn = schema.turn_ratings;
  const out: Shortcut[] = [[rangeText([...scaleKeys(turn).keys()]), `Rate the focused assistant turn ${turn.min} to ${turn.max}`]];
  for (const [key, name] of flagKeys(schema)) out.push([key.toUpperCase(), `Flag the focused turn “${name}” (again to take it back)`]);
  const whole = schema.conversation_rating;
  if (whole) out.push([rangeText([...scaleKeys(whole).keys()]), `Rate the conversation ${whole.min} to ${whole.max} (when it has the focus)`]);
  out.push(["Tab / Shift+Tab", whole ? "Next / previous assistant turn, then the conversation" : "Next / previous assistant turn"]);
  return out;
}

function boxKeys(schema: BoxesSchema): Shortcut[] {
  return [
    ["(drag)", "Draw a box on the image; drag a box to move it, its corner to resize it"],
    ...[...labelKeys(schema)].map(([key, name]): Shortcut => [key.toUpperCase(), `Label the selected box “${name}” (none selected: a new box in the middle)`]),
    ["Tab / Shift+Tab", "Next / previous box"],
    ["Arrows", "Move the selected box (1% a press)"],
    ["Shift+Arrows", "Resize the selected box (→ ↓ grow, ← ↑ shrink)"],
    ["Delete", "Remove the selected box"],
    ["+ / −", "Zoom in / out (or Ctrl+wheel, around the pointer)"],
    ["0", "Fit the image to the screen again"],
    ["Arrows", "Zoomed, with no box selected: move the view (or the wheel, or drag with the middle button)"],
  ];
}

/** The keys of the task type's answer. */
export function answerShortcuts(type: TaskType, schema: Schema): Shortcut[] {
  switch (type) {
    case "classification":
      return classificationKeys(schema as ClassificationSchema);
    case "ner":
      return nerKeys(schema as NerSchema);
    case "pairwise":
      return pairwiseKeys(schema as PairwiseSchema);
    case "rubric":
      return rubricKeys(schema as RubricSchema);
    case "free_text":
      return [["(type)", `Write in the editor${(schema as FreeTextSchema).mode === "rewrite" ? "; the diff follows" : ""}`]];
    case "chat":
      return chatKeys(schema as ChatSchema);
    case "boxes":
      return boxKeys(schema as BoxesSchema);
  }
}

/** Every shortcut of this project's workspace, the type's own first. */
export function shortcuts(type: TaskType, schema: Schema): Shortcut[] {
  return [...answerShortcuts(type, schema), ...COMMON];
}
