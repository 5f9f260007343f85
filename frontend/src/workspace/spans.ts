// NER spans as plain data. The API counts offsets in Unicode code points (Python's str), while
// JS strings and DOM selections count UTF-16 units, so an emoji is 1 for the server and 2 here:
// the state keeps code points (as the result and the draft do) and the view converts at the edge.

import type { NerSchema, NerState, Span } from "./types";

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

/** What adding a span does: the new state, or why it cannot be added. */
export type SpanEdit = { ok: true; state: NerState; index: number } | { ok: false; problem: string };

/** Add a span (code points), kept in the server's order; overlaps only with `allow_overlap`. */
export function addSpan(schema: NerSchema, state: NerState, span: Span): SpanEdit {
  if (span.end <= span.start) return { ok: false, problem: "Select some text first." };
  if (state.spans.some((s) => same(s, span))) return { ok: false, problem: "That span is already labelled so." };
  if (!schema.allow_overlap && state.spans.some((s) => overlaps(s, span)))
    return { ok: false, problem: "This span overlaps another; this project does not allow overlaps." };
  const spans = [...state.spans, span].sort(order);
  return { ok: true, state: { spans }, index: spans.findIndex((s) => same(s, span)) };
}

export function removeSpan(state: NerState, index: number): NerState {
  return { spans: state.spans.filter((_, i) => i !== index) };
}

/** Give a span another label (the span keeps its place unless the order changes). */
export function relabel(schema: NerSchema, state: NerState, index: number, label: string): SpanEdit {
  const span = state.spans[index];
  if (!span) return { ok: false, problem: "No span is selected." };
  return addSpan(schema, removeSpan(state, index), { ...span, label });
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
