// The keyboard map of the review mode, pure like keys.ts. A reviewer first judges the answer as
// submitted, so A, R and E are decisions (A is Accept, not pairwise's "A is better"); the
// answer's own keys come alive only while correcting (after E), and then work as in annotating.

import { answerShortcuts, navFor, type KeyInput, type Nav, type Shortcut } from "./keys";
import type { Schema, TaskType } from "./types";

/** Judging the answer, correcting it, writing a rejection, reading the help, or waiting. */
export type ReviewMode = "judge" | "correct" | "reject" | "help" | "idle";

export type ReviewCommand =
  | { kind: "accept" | "reject" | "correct" | "send" | "undo" | "redo" | "help" | "escape" }
  | { kind: "key"; key: string }
  | Nav;

const DECISIONS: Record<string, ReviewCommand> = {
  a: { kind: "accept" },
  r: { kind: "reject" },
  e: { kind: "correct" },
};

function modified(input: KeyInput, mode: ReviewMode): ReviewCommand | null {
  const key = input.key.toLowerCase();
  if (input.alt) return null;
  // Ctrl+Enter sends what is being written: the correction or the rejection's comment.
  if (key === "enter") return mode === "correct" || mode === "reject" ? { kind: "send" } : null;
  if (mode !== "correct") return null;
  if (key === "z") return { kind: input.shift ? "redo" : "undo" };
  if (key === "y" && !input.shift) return { kind: "redo" };
  return null;
}

export function reviewCommandFor(input: KeyInput, mode: ReviewMode): ReviewCommand | null {
  if (input.key === "Escape") return { kind: "escape" };
  if (input.ctrl || input.meta) return modified(input, mode);
  if (mode === "correct" && navFor(input)) return navFor(input);
  if (input.alt || input.typing || input.key.length !== 1) return null;
  if (input.key === "?") return mode === "reject" ? null : { kind: "help" };
  const key = input.key.toLowerCase();
  if (mode === "judge") return DECISIONS[key] ?? null;
  if (mode === "correct") return { kind: "key", key };
  return null;
}

const JUDGE: Shortcut[] = [
  ["A", "Accept the answer as submitted"],
  ["R", "Reject it (then write why; Ctrl+Enter sends)"],
  ["E", "Correct it: the answer's keys below work, Ctrl+Enter sends"],
];

const COMMON: Shortcut[] = [
  ["Ctrl+Z / Ctrl+Shift+Z", "Undo / redo while correcting"],
  ["Tab / Shift+Tab", "Next / previous field"],
  ["?", "Show or hide this list"],
  ["Esc", "Close this list, the rejection, or stop correcting"],
];

/** Every shortcut of the review mode: the decisions, then the answer's keys (after E). */
export function reviewShortcuts(type: TaskType, schema: Schema): Shortcut[] {
  const answer = answerShortcuts(type, schema).map(([keys, action]): Shortcut => [keys, `${action} (after E)`]);
  return [...JUDGE, ["Ctrl+Enter", "Send the correction or the rejection"], ...answer, ...COMMON];
}
