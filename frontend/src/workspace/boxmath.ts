// Boxes as plain data: normalized coordinates (0..1 of the image's width and height, top-left
// corner), kept inside the image and at least the project's `min_size`, as the server checks
// (labeling/results.py). The view turns pointer positions into these numbers at the edge.

import type { Box, BoxesSchema, BoxesState } from "./types";

/** One arrow press moves or resizes by 1% of the image. */
export const STEP = 0.01;
/** A drag shorter than this (either way) is a click, not a box. */
export const CLICK = 0.005;
/** Coordinates are kept to 6 decimals: finer than any screen, and drafts stay readable. */
const PRECISION = 1e6;

export interface Point {
  x: number;
  y: number;
}

export const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));

const round = (value: number): number => Math.round(value * PRECISION) / PRECISION;

/** The smallest width or height a box may have: the schema's, and never zero (the API refuses it). */
export function minSize(schema: BoxesSchema): number {
  return clamp(schema.min_size ?? 0, 1 / PRECISION, 1);
}

/** A box made valid: at least `least` wide and high, wholly inside the image, rounded. The size
 *  wins over the position: a box pushed past an edge slides back in rather than shrinking. */
export function normalize(box: Box, least: number): Box {
  const w = round(clamp(box.w, least, 1));
  const h = round(clamp(box.h, least, 1));
  const x = round(clamp(box.x, 0, 1 - w));
  const y = round(clamp(box.y, 0, 1 - h));
  // Rounding may leave x + w a hair past 1: take it from the position.
  return { x: x + w > 1 ? round(1 - w) : x, y: y + h > 1 ? round(1 - h) : y, w, h, label: box.label };
}

/** The box a drag from `a` to `b` draws (either corner first), or null for a click. */
export function fromDrag(a: Point, b: Point, label: string, least: number): Box | null {
  const [ax, ay, bx, by] = [a.x, a.y, b.x, b.y].map((v) => clamp(v, 0, 1)) as [number, number, number, number];
  if (Math.abs(bx - ax) < CLICK && Math.abs(by - ay) < CLICK) return null;
  return normalize({ x: Math.min(ax, bx), y: Math.min(ay, by), w: Math.abs(bx - ax), h: Math.abs(by - ay), label }, least);
}

/** A pointer position over an element's rectangle, in the image's 0..1 terms. */
export function toNormal(clientX: number, clientY: number, rect: { left: number; top: number; width: number; height: number }): Point {
  if (rect.width <= 0 || rect.height <= 0) return { x: 0, y: 0 };
  return { x: clamp((clientX - rect.left) / rect.width, 0, 1), y: clamp((clientY - rect.top) / rect.height, 0, 1) };
}

/** The box moved by (dx, dy), stopped at the image's edges. */
export function nudge(box: Box, dx: number, dy: number, least: number): Box {
  return normalize({ ...box, x: box.x + dx, y: box.y + dy }, least);
}

/** The box grown (or shrunk) by (dw, dh) from its top-left corner, within min_size and the image. */
export function resize(box: Box, dw: number, dh: number, least: number): Box {
  return normalize({ ...box, w: clamp(box.w + dw, least, 1 - box.x), h: clamp(box.h + dh, least, 1 - box.y) }, least);
}

/** What an arrow key does to the selected box: move it, or with Shift resize it. */
export function arrow(box: Box, key: string, shift: boolean, least: number): Box | null {
  const d = { ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, -STEP], ArrowDown: [0, STEP] }[key];
  if (!d) return null;
  const [dx, dy] = d as [number, number];
  return shift ? resize(box, dx, dy, least) : nudge(box, dx, dy, least);
}

export function replaceBox(state: BoxesState, index: number, box: Box): BoxesState {
  return { boxes: state.boxes.map((b, i) => (i === index ? box : b)) };
}

export function removeBox(state: BoxesState, index: number): BoxesState {
  return { boxes: state.boxes.filter((_, i) => i !== index) };
}

/** The next (or previous) box from `index`; null past either end (so Tab can leave). */
export function stepBox(count: number, index: number | null, back: boolean): number | null {
  if (count === 0) return null;
  if (index === null) return back ? count - 1 : 0;
  const next = index + (back ? -1 : 1);
  return next >= 0 && next < count ? next : null;
}

/** The boxes read back from a draft or a result, or null when they are not boxes. */
export function boxesFrom(value: unknown): BoxesState | null {
  if (!Array.isArray(value)) return null;
  const boxes: Box[] = [];
  for (const item of value) {
    if (typeof item !== "object" || item === null) return null;
    const { x, y, w, h, label } = item as Record<string, unknown>;
    const numbers = [x, y, w, h].every((v) => typeof v === "number" && Number.isFinite(v));
    if (!numbers || typeof label !== "string") return null;
    boxes.push({ x: x as number, y: y as number, w: w as number, h: h as number, label });
  }
  return { boxes };
}

/** The result the API takes; every box needs a label (a drawn box has none until one is chosen). */
export function boxesResult(schema: BoxesSchema, state: BoxesState): { ok: true; result: Record<string, unknown> } | { ok: false; problem: string } {
  const unlabelled = state.boxes.findIndex((box) => box.label === "");
  if (unlabelled >= 0) return { ok: false, problem: `Label box ${unlabelled + 1} (select it with Tab, then a label's key).` };
  const least = minSize(schema);
  return { ok: true, result: { boxes: state.boxes.map((box) => normalize(box, least)) } };
}

/** The box dragged by the pointer from `from` to `to` (its size kept, stopped at the edges). */
export function dragMove(box: Box, from: Point, to: Point, least: number): Box {
  return nudge(box, to.x - from.x, to.y - from.y, least);
}

/** The box with its bottom-right corner dragged to `to` (its top-left kept, at least `least`). */
export function dragCorner(box: Box, to: Point, least: number): Box {
  return normalize({ ...box, w: clamp(to.x - box.x, least, 1 - box.x), h: clamp(to.y - box.y, least, 1 - box.y) }, least);
}

/** The zoom levels of the image (1 is the image fitted to the screen). */
export const ZOOMS = [1, 1.5, 2, 3, 4, 6, 8];

/** The next zoom level in (`+1`) or out (`-1`) from `zoom`, within ZOOMS. */
export function zoomStep(zoom: number, direction: 1 | -1): number {
  if (direction > 0) return ZOOMS.find((z) => z > zoom + 1e-9) ?? ZOOMS[ZOOMS.length - 1]!;
  return [...ZOOMS].reverse().find((z) => z < zoom - 1e-9) ?? ZOOMS[0]!;
}

/** Where to scroll so that the point of the content under `anchor` (viewport pixels) stays under
 *  it when the content grows from `before` to `after` pixels wide (or high). */
export function keepAnchor(scroll: number, anchor: number, before: number, after: number): number {
  if (before <= 0) return 0;
  return Math.max(0, ((scroll + anchor) * after) / before - anchor);
}
