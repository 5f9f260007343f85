// The answer of each task type as plain data: its empty state, the edits the controls and keys
// make, a draft read back, and the result the API takes (docs/work.md, "Result shapes").
// Pure functions: the views render a state, the keys and controls ask for a new one.

import { boxesFrom, boxesResult } from "./boxmath";
import { chatFromDraft, chatResult, emptyChat } from "./chatturns";
import type {
  AnswerState,
  BoxesSchema,
  BoxesState,
  Built,
  ChatSchema,
  ChatState,
  ClassificationSchema,
  ClassificationState,
  FreeTextSchema,
  FreeTextState,
  NerState,
  PairwiseSchema,
  PairwiseState,
  Relation,
  RubricSchema,
  RubricState,
  Scale,
  Schema,
  Span,
  TaskType,
} from "./types";

/** The version of the draft format; a draft of another version is ignored, not misread. */
export const DRAFT_VERSION = 1;

/** Code points, as the server counts (Python's len), not UTF-16 units. */
export function textLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

// --- Scales and keys --------------------------------------------------------------------------

export function scalePoints(scale: Scale): number[] {
  const points: number[] = [];
  for (let value = scale.min; value <= scale.max; value++) points.push(value);
  return points;
}

/**
 * The number key of each point of a scale. A scale within 0..9 uses its own digits (key 4 is
 * 4); any other (say -2..2 or 0..10) numbers its points 1, 2, … 9, 0 from the left.
 */
export function scaleKeys(scale: Scale): Map<string, number> {
  const keys = new Map<string, number>();
  const points = scalePoints(scale);
  if (scale.min >= 0 && scale.max <= 9) {
    for (const value of points) keys.set(String(value), value);
    return keys;
  }
  points.slice(0, 10).forEach((value, index) => keys.set(String((index + 1) % 10), value));
  return keys;
}

export function keyOfPoint(scale: Scale, value: number): string | undefined {
  for (const [key, point] of scaleKeys(scale)) if (point === value) return key;
  return undefined;
}

/** Keys that always mean the same thing, so no label may take them. */
export const RESERVED_KEYS = new Set(["s", "?"]);

/** Each label's key: its schema hotkey, else 1-9 by position when no label names a hotkey. */
export function labelKeys(schema: { labels: { name: string; hotkey?: string }[] }): Map<string, string> {
  const keys = new Map<string, string>();
  const anyHotkey = schema.labels.some((label) => label.hotkey);
  schema.labels.forEach((label, index) => {
    const key = anyHotkey ? label.hotkey?.toLowerCase() : index < 9 ? String(index + 1) : undefined;
    if (key && !RESERVED_KEYS.has(key) && !keys.has(key)) keys.set(key, label.name);
  });
  return keys;
}

// --- Empty states and drafts ------------------------------------------------------------------

export function emptyState(type: TaskType, data: Record<string, unknown>, schema: Schema): AnswerState {
  switch (type) {
    case "classification":
      return { labels: [] };
    case "ner":
      return { spans: [] };
    case "pairwise":
      return { choice: null, strength: null, rationale: "" };
    case "rubric":
      return { scores: {}, comments: "" };
    case "free_text": {
      const original = data["response"];
      const rewrite = (schema as FreeTextSchema).mode === "rewrite";
      return { text: rewrite && typeof original === "string" ? original : "" };
    }
    case "chat":
      return emptyChat();
    case "boxes":
      return { boxes: [] };
  }
}

export function draftOf(state: AnswerState): Record<string, unknown> {
  return { version: DRAFT_VERSION, state };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function nerState(spans: unknown, relations: unknown): NerState | null {
  if (!Array.isArray(spans)) return null;
  const ok = spans.every(
    (s) =>
      isObject(s) &&
      Number.isInteger(s["start"]) &&
      Number.isInteger(s["end"]) &&
      typeof s["label"] === "string" &&
      (s["id"] === undefined || typeof s["id"] === "string"),
  );
  if (!ok) return null;
  const out: NerState = {
    spans: (spans as Span[]).map(({ start, end, label, id }) => (id === undefined ? { start, end, label } : { start, end, label, id })),
  };
  const links = Array.isArray(relations)
    ? relations.filter(
        (r): r is Relation => isObject(r) && typeof r["from"] === "string" && typeof r["to"] === "string" && typeof r["label"] === "string",
      )
    : [];
  if (links.length > 0) out.relations = links.map(({ from, to, label }) => ({ from, to, label }));
  return out;
}

/** The state a saved draft holds, if it is one this workspace wrote for this type; else null. */
export function stateFromDraft(type: TaskType, draft: unknown): AnswerState | null {
  if (!isObject(draft) || draft["version"] !== DRAFT_VERSION || !isObject(draft["state"])) return null;
  const state = draft["state"];
  switch (type) {
    case "classification":
      return Array.isArray(state["labels"]) && state["labels"].every((l) => typeof l === "string")
        ? { labels: state["labels"] as string[] }
        : null;
    case "ner":
      return nerState(state["spans"], state["relations"]);
    case "pairwise": {
      const choice = state["choice"];
      const strength = state["strength"];
      if (choice !== null && choice !== "a" && choice !== "b" && choice !== "tie") return null;
      if (strength !== null && typeof strength !== "number") return null;
      const rationale = typeof state["rationale"] === "string" ? state["rationale"] : "";
      return { choice, strength, rationale };
    }
    case "rubric": {
      if (!isObject(state["scores"])) return null;
      const scores: Record<string, number> = {};
      for (const [name, value] of Object.entries(state["scores"]))
        if (typeof value === "number") scores[name] = value;
      const comments = typeof state["comments"] === "string" ? state["comments"] : "";
      return { scores, comments };
    }
    case "free_text":
      return typeof state["text"] === "string" ? { text: state["text"] } : null;
    case "chat":
      return chatFromDraft(state);
    case "boxes":
      return boxesFrom(state["boxes"]);
  }
}

/** The state a submitted result stands for (the result shapes are the states, less defaults),
 *  or null when it is not one of this type. */
export function stateFromResult(
  type: TaskType,
  data: Record<string, unknown>,
  schema: Schema,
  result: unknown,
): AnswerState | null {
  if (!isObject(result)) return null;
  return stateFromDraft(type, draftOf({ ...emptyState(type, data, schema), ...result } as AnswerState));
}

// --- Edits ------------------------------------------------------------------------------------

/** Choose a label: the only one, or toggled among several with `multiple`. */
export function chooseLabel(
  schema: ClassificationSchema,
  state: ClassificationState,
  name: string,
): ClassificationState {
  if (!schema.multiple) return { labels: [name] };
  const chosen = state.labels.includes(name)
    ? state.labels.filter((label) => label !== name)
    : [...state.labels, name];
  // Kept in the schema's order, as the server stores it.
  return { labels: schema.labels.map((l) => l.name).filter((n) => chosen.includes(n)) };
}

export function choosePair(
  schema: PairwiseSchema,
  state: PairwiseState,
  choice: "a" | "b" | "tie",
): PairwiseState {
  if (!(schema.choices ?? ["a", "b", "tie"]).includes(choice)) return state;
  return { ...state, choice, strength: choice === "tie" ? null : state.strength };
}

export function chooseStrength(schema: PairwiseSchema, state: PairwiseState, value: number): PairwiseState {
  if (!schema.strength || state.choice === "tie") return state;
  return { ...state, strength: value };
}

export function rate(state: RubricState, criterion: string, value: number): RubricState {
  return { ...state, scores: { ...state.scores, [criterion]: value } };
}

// --- Results ----------------------------------------------------------------------------------

function classificationResult(schema: ClassificationSchema, state: ClassificationState): Built {
  if (state.labels.length === 0)
    return { ok: false, problem: schema.multiple ? "Choose at least one label." : "Choose a label." };
  return { ok: true, result: { labels: [...state.labels] } };
}

function pairwiseResult(schema: PairwiseSchema, state: PairwiseState): Built {
  if (state.choice === null) return { ok: false, problem: "Choose A, B or a tie." };
  const result: Record<string, unknown> = { choice: state.choice };
  if (schema.strength && state.choice !== "tie") {
    if (state.strength === null) return { ok: false, problem: "Choose how strong the preference is." };
    result["strength"] = state.strength;
  }
  const rules = schema.rationale;
  const rationale = state.rationale.trim();
  if (rules?.required) {
    const least = Math.max(1, rules.min_length);
    if (textLength(rationale) < least)
      return { ok: false, problem: `Write a rationale of at least ${least} character(s).` };
  }
  if (rationale) result["rationale"] = state.rationale;
  return { ok: true, result };
}

function rubricResult(schema: RubricSchema, state: RubricState): Built {
  const missing = schema.criteria.find((c) => (c.required ?? true) && !(c.name in state.scores));
  if (missing) return { ok: false, problem: `Rate “${missing.name}”.` };
  const scores: Record<string, number> = {};
  for (const criterion of schema.criteria)
    if (criterion.name in state.scores) scores[criterion.name] = state.scores[criterion.name]!;
  const result: Record<string, unknown> = { scores };
  if ((schema.comments ?? true) && state.comments.trim()) result["comments"] = state.comments;
  return { ok: true, result };
}

export interface LengthStatus {
  length: number;
  ok: boolean;
  text: string;
}

/** The length counter: how long the text is against the schema's bounds, in words. */
export function lengthStatus(text: string, min: number, max: number | undefined): LengthStatus {
  const length = textLength(text);
  const counted = textLength(text.trim());
  const bound = max === undefined ? `${length}` : `${length} / ${max}`;
  if (counted < min) return { length, ok: false, text: `${bound} characters · ${min - counted} more needed` };
  if (max !== undefined && length > max)
    return { length, ok: false, text: `${bound} characters · ${length - max} too many` };
  return { length, ok: true, text: `${bound} characters` };
}

function freeTextResult(schema: FreeTextSchema, state: FreeTextState): Built {
  const status = lengthStatus(state.text, schema.min_length, schema.max_length);
  if (!status.ok) return { ok: false, problem: `The text is not the right length: ${status.text}.` };
  return { ok: true, result: { text: state.text } };
}

function nerResult(state: NerState): Record<string, unknown> {
  const result: Record<string, unknown> = { spans: state.spans.map((s) => ({ ...s })) };
  if (state.relations && state.relations.length > 0) result["relations"] = state.relations.map((r) => ({ ...r }));
  return result;
}

export function buildResult(
  type: TaskType,
  schema: Schema,
  state: AnswerState,
  data: Record<string, unknown> = {},
): Built {
  switch (type) {
    case "ner":
      // No span is an answer too: a text may name nothing.
      return { ok: true, result: nerResult(state as NerState) };
    case "classification":
      return classificationResult(schema as ClassificationSchema, state as ClassificationState);
    case "pairwise":
      return pairwiseResult(schema as PairwiseSchema, state as PairwiseState);
    case "rubric":
      return rubricResult(schema as RubricSchema, state as RubricState);
    case "free_text":
      return freeTextResult(schema as FreeTextSchema, state as FreeTextState);
    case "chat":
      return chatResult(schema as ChatSchema, data, state as ChatState);
    case "boxes":
      return boxesResult(schema as BoxesSchema, state as BoxesState);
  }
}
