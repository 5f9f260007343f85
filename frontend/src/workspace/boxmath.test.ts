import { describe, expect, it } from "vitest";

import { buildResult, stateFromDraft, draftOf } from "./answer";
import { arrow, boxesFrom, dragCorner, dragMove, fromDrag, keepAnchor, minSize, normalize, nudge, resize, stepBox, toNormal, zoomStep } from "./boxmath";
import type { Box } from "./types";

const box = (x: number, y: number, w: number, h: number, label = "cat"): Box => ({ x, y, w, h, label });
const inside = (b: Box): boolean => b.x >= 0 && b.y >= 0 && b.x + b.w <= 1 && b.y + b.h <= 1;

describe("pointer positions", () => {
  it("are fractions of the image's rectangle, clamped to it", () => {
    const rect = { left: 100, top: 50, width: 400, height: 200 };
    expect(toNormal(200, 100, rect)).toEqual({ x: 0.25, y: 0.25 });
    expect(toNormal(0, 1000, rect)).toEqual({ x: 0, y: 1 });
    expect(toNormal(10, 10, { left: 0, top: 0, width: 0, height: 0 })).toEqual({ x: 0, y: 0 });
  });
});

describe("drawing", () => {
  it("takes either corner first and rounds to 6 decimals", () => {
    expect(fromDrag({ x: 0.6, y: 0.5 }, { x: 0.2, y: 0.1 }, "", 0)).toEqual(box(0.2, 0.1, 0.4, 0.4, ""));
    const thirds = fromDrag({ x: 1 / 3, y: 0 }, { x: 2 / 3, y: 0.1 }, "", 0)!;
    expect(thirds.x).toBe(0.333333);
    expect(thirds.w).toBe(0.333333);
  });

  it("treats a tiny drag as a click", () => {
    expect(fromDrag({ x: 0.5, y: 0.5 }, { x: 0.501, y: 0.502 }, "", 0)).toBeNull();
  });

  it("grows a box smaller than min_size, inside the image", () => {
    const drawn = fromDrag({ x: 0.98, y: 0.5 }, { x: 0.99, y: 0.52 }, "", 0.1)!;
    expect(drawn.w).toBe(0.1);
    expect(drawn.h).toBe(0.1);
    expect(inside(drawn)).toBe(true);
  });

  it("clamps a drag past the image's edge", () => {
    expect(fromDrag({ x: 0.5, y: 0.5 }, { x: 1.5, y: -0.5 }, "", 0)).toEqual(box(0.5, 0, 0.5, 0.5, ""));
  });
});

describe("normalizing", () => {
  it("slides a box back inside rather than shrinking it", () => {
    expect(normalize(box(0.9, 0.95, 0.3, 0.2), 0)).toEqual(box(0.7, 0.8, 0.3, 0.2));
  });

  it("never leaves x + w past 1 after rounding", () => {
    const b = normalize(box(0.1 + 0.2, 0.7000004, 0.7000001, 0.3), 0);
    expect(b.x + b.w).toBeLessThanOrEqual(1);
    expect(b.y + b.h).toBeLessThanOrEqual(1);
  });

  it("keeps every size above zero even without min_size", () => {
    expect(minSize({ labels: [] })).toBeGreaterThan(0);
    expect(minSize({ labels: [], min_size: 0.05 })).toBe(0.05);
  });
});

describe("nudging and resizing", () => {
  it("moves by 1% a press and stops at the edges", () => {
    expect(nudge(box(0.2, 0.2, 0.4, 0.3), 0.01, 0, 0)).toEqual(box(0.21, 0.2, 0.4, 0.3));
    expect(nudge(box(0, 0.69, 0.4, 0.3), -0.01, 0.01, 0)).toEqual(box(0, 0.7, 0.4, 0.3));
    expect(nudge(box(0, 0.7, 0.4, 0.3), 0, 0.01, 0)).toEqual(box(0, 0.7, 0.4, 0.3));
  });

  it("resizes from the top-left corner within min_size and the image", () => {
    expect(resize(box(0.2, 0.2, 0.4, 0.3), 0.01, -0.01, 0)).toEqual(box(0.2, 0.2, 0.41, 0.29));
    expect(resize(box(0.2, 0.2, 0.1, 0.1), -0.01, 0, 0.1)).toEqual(box(0.2, 0.2, 0.1, 0.1));
    expect(resize(box(0.6, 0.2, 0.4, 0.1), 0.01, 0, 0)).toEqual(box(0.6, 0.2, 0.4, 0.1));
  });

  it("maps the arrow keys, Shift resizing", () => {
    const b = box(0.5, 0.5, 0.2, 0.2);
    expect(arrow(b, "ArrowUp", false, 0)).toEqual(box(0.5, 0.49, 0.2, 0.2));
    expect(arrow(b, "ArrowDown", true, 0)).toEqual(box(0.5, 0.5, 0.2, 0.21));
    expect(arrow(b, "ArrowLeft", true, 0)).toEqual(box(0.5, 0.5, 0.19, 0.2));
    expect(arrow(b, "Home", false, 0)).toBeNull();
  });

  it("steps through the boxes and lets Tab leave past either end", () => {
    expect(stepBox(0, null, false)).toBeNull();
    expect(stepBox(3, null, true)).toBe(2);
    expect(stepBox(3, 1, false)).toBe(2);
    expect(stepBox(3, 2, false)).toBeNull();
    expect(stepBox(3, 0, true)).toBeNull();
  });
});

describe("drafts and results", () => {
  const schema = { labels: [{ name: "cat" }], min_size: 0.05 };

  it("reads back a draft's boxes and refuses what is not one", () => {
    const state = { boxes: [box(0.1, 0.1, 0.2, 0.2)] };
    expect(stateFromDraft("boxes", draftOf(state))).toEqual(state);
    expect(boxesFrom([{ x: "1", y: 0, w: 0.1, h: 0.1, label: "cat" }])).toBeNull();
    expect(boxesFrom([{ x: Number.NaN, y: 0, w: 0.1, h: 0.1, label: "cat" }])).toBeNull();
    expect(boxesFrom("boxes")).toBeNull();
  });

  it("asks for a label before submitting and sends normalized boxes", () => {
    const unlabelled = buildResult("boxes", schema, { boxes: [box(0.1, 0.1, 0.2, 0.2), box(0.5, 0.5, 0.1, 0.1, "")] });
    expect(unlabelled).toEqual({ ok: false, problem: "Label box 2 (select it with Tab, then a label's key)." });
    expect(buildResult("boxes", schema, { boxes: [box(0.99, 0.1, 0.01, 0.2)] })).toEqual({
      ok: true,
      result: { boxes: [box(0.95, 0.1, 0.05, 0.2)] },
    });
    expect(buildResult("boxes", schema, { boxes: [] })).toEqual({ ok: true, result: { boxes: [] } });
  });
});

describe("the mouse on a box", () => {
  it("moves it by the drag, kept whole inside the image", () => {
    expect(dragMove(box(0.2, 0.2, 0.2, 0.2), { x: 0.3, y: 0.3 }, { x: 0.4, y: 0.25 }, 0.05)).toEqual(box(0.3, 0.15, 0.2, 0.2));
    expect(dragMove(box(0.2, 0.2, 0.2, 0.2), { x: 0.3, y: 0.3 }, { x: 1, y: 1 }, 0.05)).toEqual(box(0.8, 0.8, 0.2, 0.2));
  });

  it("resizes it by its corner, never below min_size nor past the image", () => {
    expect(dragCorner(box(0.2, 0.2, 0.2, 0.2), { x: 0.5, y: 0.7 }, 0.05)).toEqual(box(0.2, 0.2, 0.3, 0.5));
    expect(dragCorner(box(0.2, 0.2, 0.2, 0.2), { x: 0.1, y: 0.1 }, 0.05)).toEqual(box(0.2, 0.2, 0.05, 0.05));
    expect(dragCorner(box(0.2, 0.2, 0.2, 0.2), { x: 1, y: 1 }, 0.05)).toEqual(box(0.2, 0.2, 0.8, 0.8));
  });
});

describe("zoom", () => {
  it("steps through the levels and stops at either end", () => {
    expect(zoomStep(1, 1)).toBe(1.5);
    expect(zoomStep(1.5, 1)).toBe(2);
    expect(zoomStep(8, 1)).toBe(8);
    expect(zoomStep(2.5, -1)).toBe(2);
    expect(zoomStep(1, -1)).toBe(1);
  });

  it("keeps the point under the pointer where it was", () => {
    // 100 px into a 400 px image, scrolled by 50, pointer at 50: at 800 px it is 200 px in.
    expect(keepAnchor(50, 50, 400, 800)).toBe(150);
    expect(keepAnchor(0, 0, 400, 800)).toBe(0);
    expect(keepAnchor(300, 100, 800, 400)).toBe(100);
    expect(keepAnchor(10, 10, 0, 400)).toBe(0);
  });
});
