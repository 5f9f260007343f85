import { stateFromResult } from "./answer";
import type { KeyInput } from "./keys";
import { reviewCommandFor, reviewShortcuts } from "./reviewkeys";

const key = (value: string, extra: Partial<KeyInput> = {}): KeyInput => ({
  key: value,
  ctrl: false,
  meta: false,
  shift: false,
  alt: false,
  typing: false,
  ...extra,
});

describe("the review mode's keyboard map", () => {
  it("makes A, R and E decisions while judging, and the answer's keys do nothing", () => {
    expect(reviewCommandFor(key("a"), "judge")).toEqual({ kind: "accept" });
    expect(reviewCommandFor(key("R", { shift: true }), "judge")).toEqual({ kind: "reject" });
    expect(reviewCommandFor(key("e"), "judge")).toEqual({ kind: "correct" });
    for (const answerKey of ["b", "t", "1", "s"]) expect(reviewCommandFor(key(answerKey), "judge")).toBeNull();
    expect(reviewCommandFor(key("Enter", { ctrl: true }), "judge")).toBeNull();
    expect(reviewCommandFor(key("z", { ctrl: true }), "judge")).toBeNull();
  });

  it("passes every key to the answer while correcting, A included, and sends with Ctrl+Enter", () => {
    expect(reviewCommandFor(key("a"), "correct")).toEqual({ kind: "key", key: "a" });
    expect(reviewCommandFor(key("3"), "correct")).toEqual({ kind: "key", key: "3" });
    expect(reviewCommandFor(key("Enter", { ctrl: true }), "correct")).toEqual({ kind: "send" });
    expect(reviewCommandFor(key("Enter", { meta: true, typing: true }), "correct")).toEqual({ kind: "send" });
    expect(reviewCommandFor(key("z", { ctrl: true }), "correct")).toEqual({ kind: "undo" });
    expect(reviewCommandFor(key("Z", { ctrl: true, shift: true }), "correct")).toEqual({ kind: "redo" });
    expect(reviewCommandFor(key("Escape"), "correct")).toEqual({ kind: "escape" });
  });

  it("lets the rejection's comment be typed, sent with Ctrl+Enter and cancelled with Esc", () => {
    for (const letter of ["a", "r", "e", "?", "1"]) {
      expect(reviewCommandFor(key(letter, { typing: true }), "reject")).toBeNull();
      expect(reviewCommandFor(key(letter), "reject")).toBeNull();
    }
    expect(reviewCommandFor(key("Enter", { ctrl: true, typing: true }), "reject")).toEqual({ kind: "send" });
    expect(reviewCommandFor(key("Escape", { typing: true }), "reject")).toEqual({ kind: "escape" });
  });

  it("never fires single-letter keys while typing, and does nothing while idle", () => {
    expect(reviewCommandFor(key("a", { typing: true }), "judge")).toBeNull();
    expect(reviewCommandFor(key("a", { typing: true }), "correct")).toBeNull();
    expect(reviewCommandFor(key("a"), "idle")).toBeNull();
    expect(reviewCommandFor(key("Enter", { ctrl: true }), "idle")).toBeNull();
    expect(reviewCommandFor(key("?"), "idle")).toEqual({ kind: "help" });
    expect(reviewCommandFor(key("?"), "help")).toEqual({ kind: "help" });
    expect(reviewCommandFor(key("a", { alt: true }), "judge")).toBeNull();
  });

  it("lists the decisions first, then the answer's keys for correcting", () => {
    const list = reviewShortcuts("pairwise", { strength: { min: 1, max: 3 } });
    expect(list.slice(0, 3).map(([keys]) => keys)).toEqual(["A", "R", "E"]);
    expect(list).toContainEqual(["A", "Response A is better (after E)"]);
    expect(list.map(([keys]) => keys)).not.toContain("S");
  });
});

describe("a submitted result as the answer's state", () => {
  it("fills in the defaults a result leaves out", () => {
    expect(stateFromResult("classification", {}, { labels: [] }, { labels: ["Yes"] })).toEqual({ labels: ["Yes"] });
    expect(stateFromResult("pairwise", {}, {}, { choice: "tie" })).toEqual({ choice: "tie", strength: null, rationale: "" });
    expect(stateFromResult("rubric", {}, { criteria: [] }, { scores: { C: 2 } })).toEqual({ scores: { C: 2 }, comments: "" });
    const rewrite = { mode: "rewrite" as const, min_length: 1 };
    expect(stateFromResult("free_text", { response: "old" }, rewrite, { text: "new" })).toEqual({ text: "new" });
  });

  it("refuses what is not a result of the type", () => {
    expect(stateFromResult("classification", {}, { labels: [] }, null)).toBeNull();
    expect(stateFromResult("classification", {}, { labels: [] }, { labels: [3] })).toBeNull();
    expect(stateFromResult("pairwise", {}, {}, { choice: "c" })).toBeNull();
  });
});
