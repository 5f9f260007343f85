// The keyboard map of one's own answer (the "own" mode), pure like keys.ts. The answer is read
// first, with the reviewers' feedback: E revises it (then the answer's own keys work, as when
// annotating), R goes to the reply field; Ctrl+Enter sends what is being written (the reply when
// the focus is in its field, else the revision).

import { answerShortcuts, navFor, type KeyInput, type Nav, type Shortcut } from "./keys";
import type { Schema, TaskType } from "./types";

/** Reading the answer and its feedback, revising it, reading the help, or waiting. */
export type OwnMode = "read" | "revise" | "help" | "idle";

export type OwnCommand =
  | { kind: "revise" | "reply" | "send" | "undo" | "redo" | "help" | "escape" }
  | { kind: "key"; key: string }
  | Nav;

function modified(input: KeyInput, mode: OwnMode): OwnCommand | null {
  const key = input.key.toLowerCase();
  if (input.alt || mode === "help" || mode === "idle") return null;
  if (key === "enter") return { kind: "send" };
  if (mode !== "revise" || input.typing) return null;
  if (key === "z") return { kind: input.shift ? "redo" : "undo" };
  if (key === "y" && !input.shift) return { kind: "redo" };
  return null;
}

export function ownCommandFor(input: KeyInput, mode: OwnMode): OwnCommand | null {
  if (input.key === "Escape") return { kind: "escape" };
  if (input.ctrl || input.meta) return modified(input, mode);
  if (mode === "revise" && navFor(input)) return navFor(input);
  if (input.alt || input.typing || input.key.length !== 1) return null;
  if (input.key === "?") return { kind: "help" };
  const key = input.key.toLowerCase();
  if (mode === "read") return key === "e" ? { kind: "revise" } : key === "r" ? { kind: "reply" } : null;
  if (mode === "revise") return { kind: "key", key };
  return null;
}

const READ: Shortcut[] = [
  ["E", "Revise the answer: its keys below work, Ctrl+Enter sends the revision"],
  ["R", "Write a reply to the reviewer (Ctrl+Enter in the field sends it, Esc leaves it)"],
];

const COMMON: Shortcut[] = [
  ["Ctrl+Z / Ctrl+Shift+Z", "Undo / redo while revising"],
  ["Tab / Shift+Tab", "Next / previous field"],
  ["?", "Show or hide this list"],
  ["Esc", "Close this list, or stop revising (the answer as sent comes back)"],
];

/** Every shortcut of the own mode: reading, then the answer's keys (after E). */
export function ownShortcuts(type: TaskType, schema: Schema): Shortcut[] {
  const answer = answerShortcuts(type, schema).map(([keys, action]): Shortcut => [keys, `${action} (after E)`]);
  return [...READ, ["Ctrl+Enter", "Send the reply or the revision"], ...answer, ...COMMON];
}
