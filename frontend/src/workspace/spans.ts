// NER spans as plain data. The API counts offsets in Unicode code points (Python's str), while
// JS strings and DOM selections count UTF-16 units, so an emoji is 1 for the server and 2 here:
// the state keeps code points (as the result and the draft do) and the view converts at the edge.

import type { NerSchema, NerState, Relation, Span } from "./types";

/** The code-point offset of a UTF-16 offset (one inside a surrogate pair counts the pair). */
export function toCodePoint(text: string, utf16: number): number {
  return [...text.slice(0, Math.max(0, utf16))].length;
}

/** The UTF-16 offset of a code-point offset. */
export function toUtf16(text: string, points: number): number {
  let utf16 = 0;
  let seen = 0;
  for (const character of text) {
    if (seen >= points) break;
    utf16 += character.length;
    seen++;
  }
  return utf16;
}

const order = (a: Span, b: Span): number => a.start - b.start || a.end - b.end || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);

const same = (a: Span, b: Span): boolean => a.start === b.start && a.end === b.end && a.label === b.label;

export function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start < b.end && b.start < a.end;
}

/** A state of these spans and relations (no `relations` key when there are none, as the result
 *  has none then). */
function shaped(spans: Span[], relations: readonly Relation[] | undefined): NerState {
  return relations && relations.length > 0 ? { spans, relations: [...relations] } : { spans };
}

/** What adding a span does: the new state, or why it cannot be added. */
export type SpanEdit = { ok: true; state: NerState; index: number } | { ok: false; problem: string };

/** Add a span (code points), kept in the server's order; overlaps only with `allow_overlap`. */
export function addSpan(schema: NerSchema, state: NerState, span: Span): SpanEdit {
  if (span.end <= span.start) return { ok: false, problem: "Select some text first." };
  if (state.spans.some((s) => same(s, span))) return { ok: false, problem: "That span is already labelled so." };
  if (!schema.allow_overlap && state.spans.some((s) => overlaps(s, span)))
    return { ok: false, problem: "This span overlaps another; this project does not allow overlaps." };
  const spans = [...state.spans, span].sort(order);
  return { ok: true, state: shaped(spans, state.relations), index: spans.findIndex((s) => same(s, span)) };
}

/** Remove a span, and the relations it was part of. */
export function removeSpan(state: NerState, index: number): NerState {
  const gone = state.spans[index]?.id;
  const relations = gone === undefined ? state.relations : state.relations?.filter((r) => r.from !== gone && r.to !== gone);
  return shaped(state.spans.filter((_, i) => i !== index), relations);
}

/** Give a span another label (the span keeps its place unless the order changes, and its id and
 *  relations in any case). */
export function relabel(schema: NerSchema, state: NerState, index: number, label: string): SpanEdit {
  const span = state.spans[index];
  if (!span) return { ok: false, problem: "No span is selected." };
  const others = shaped(state.spans.filter((_, i) => i !== index), state.relations);
  return addSpan(schema, others, { ...span, label });
}

// --- Relations between spans: by the spans' ids (given when a relation first needs one) --------

/** The span's id, giving it one if it has none (s1, s2, …, unique among the spans). */
export function withId(state: NerState, index: number): { state: NerState; id: string } {
  const span = state.spans[index]!;
  if (span.id !== undefined) return { state, id: span.id };
  const taken = new Set(state.spans.map((s) => s.id));
  let n = 1;
  while (taken.has(`s${n}`)) n++;
  const id = `s${n}`;
  return { state: shaped(state.spans.map((s, i) => (i === index ? { ...s, id } : s)), state.relations), id };
}

export type RelationEdit = { ok: true; state: NerState } | { ok: false; problem: string };

/** A relation `label` from one span to another (by their places in the list). */
export function addRelation(state: NerState, from: number, to: number, label: string): RelationEdit {
  if (!state.spans[from] || !state.spans[to]) return { ok: false, problem: "Select two spans first." };
  if (from === to) return { ok: false, problem: "A relation joins two different spans." };
  const a = withId(state, from);
  const b = withId(a.state, to);
  const relation = { from: a.id, to: b.id, label };
  const existing = b.state.relations ?? [];
  if (existing.some((r) => r.from === relation.from && r.to === relation.to && r.label === label))
    return { ok: false, problem: "That relation is already there." };
  return { ok: true, state: shaped(b.state.spans, [...existing, relation]) };
}

export function removeRelation(state: NerState, index: number): NerState {
  return shaped(state.spans, state.relations?.filter((_, i) => i !== index));
}

/** The place in the list of the span with this id, or -1. */
export function spanIndex(state: NerState, id: string): number {
  return state.spans.findIndex((s) => s.id === id);
}

/** The next (or previous) span from `index`; null past either end (so Tab can leave). */
export function stepSpan(state: NerState, index: number | null, back: boolean): number | null {
  const count = state.spans.length;
  if (count === 0) return null;
  if (index === null) return back ? count - 1 : 0;
  const next = index + (back ? -1 : 1);
  return next >= 0 && next < count ? next : null;
}

export interface Piece {
  from: number;
  to: number;
  /** The indices of the spans that cover the piece. */
  covering: number[];
}

/** The text cut at every span edge and at `cuts` (all UTF-16), each piece with its spans. */
export function segments(text: string, spans: readonly Span[], cuts: readonly number[] = []): Piece[] {
  const edges = new Set([0, text.length, ...cuts]);
  const units = spans.map((s) => ({ start: toUtf16(text, s.start), end: toUtf16(text, s.end) }));
  for (const s of units) edges.add(s.start).add(s.end);
  const sorted = [...edges].filter((e) => e >= 0 && e <= text.length).sort((a, b) => a - b);
  const out: Piece[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const from = sorted[i]!;
    const to = sorted[i + 1]!;
    const covering = units.flatMap((s, index) => (s.start <= from && to <= s.end ? [index] : []));
    out.push({ from, to, covering });
  }
  return out;
}
