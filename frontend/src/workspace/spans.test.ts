import { buildResult, stateFromDraft, draftOf } from "./answer";
import { commandFor, shortcuts, type KeyInput } from "./keys";
import { addRelation, addSpan, relabel, removeRelation, removeSpan, segments, spanIndex, stepSpan, toCodePoint, toUtf16, withId } from "./spans";
import type { NerSchema } from "./types";

const SCHEMA: NerSchema = { labels: [{ name: "PER" }, { name: "LOC" }] };
const OVERLAPPING: NerSchema = { ...SCHEMA, allow_overlap: true };

describe("offsets: code points (the API) and UTF-16 (the DOM)", () => {
  const text = "😀 Ada met 👩‍🔬 Bob";

  it("counts an emoji as one code point and two UTF-16 units", () => {
    expect(toCodePoint(text, 2)).toBe(1);
    expect(toCodePoint(text, 3)).toBe(2);
    expect(toUtf16(text, 2)).toBe(3);
    expect(text.slice(toUtf16(text, 2), toUtf16(text, 5))).toBe("Ada");
  });

  it("round-trips every code-point offset, through a joined emoji too", () => {
    const points = [...text].length;
    for (let p = 0; p <= points; p++) expect(toCodePoint(text, toUtf16(text, p))).toBe(p);
    const bob = text.indexOf("Bob");
    expect(toCodePoint(text, bob)).toBe([...text.slice(0, bob)].length);
  });

  it("clamps past the ends", () => {
    expect(toUtf16(text, 999)).toBe(text.length);
    expect(toCodePoint(text, -3)).toBe(0);
    expect(toCodePoint("", 5)).toBe(0);
  });
});

describe("span editing", () => {
  it("adds spans in the server's order and says which one was added", () => {
    const one = addSpan(SCHEMA, { spans: [] }, { start: 5, end: 8, label: "LOC" });
    expect(one.ok).toBe(true);
    if (!one.ok) return;
    const two = addSpan(SCHEMA, one.state, { start: 0, end: 3, label: "PER" });
    expect(two).toEqual({
      ok: true,
      index: 0,
      state: { spans: [{ start: 0, end: 3, label: "PER" }, { start: 5, end: 8, label: "LOC" }] },
    });
  });

  it("refuses empty spans, repeats, and overlaps unless the schema allows them", () => {
    const state = { spans: [{ start: 0, end: 5, label: "PER" }] };
    expect(addSpan(SCHEMA, state, { start: 2, end: 2, label: "PER" }).ok).toBe(false);
    expect(addSpan(OVERLAPPING, state, { start: 0, end: 5, label: "PER" }).ok).toBe(false);
    const overlap = addSpan(SCHEMA, state, { start: 3, end: 7, label: "LOC" });
    expect(overlap).toEqual({ ok: false, problem: "This span overlaps another; this project does not allow overlaps." });
    expect(addSpan(OVERLAPPING, state, { start: 3, end: 7, label: "LOC" }).ok).toBe(true);
    expect(addSpan(SCHEMA, state, { start: 5, end: 7, label: "LOC" }).ok).toBe(true); // touching is fine
  });

  it("relabels and removes the selected span", () => {
    const state = { spans: [{ start: 0, end: 3, label: "PER" }, { start: 5, end: 8, label: "LOC" }] };
    expect(relabel(SCHEMA, state, 1, "PER")).toEqual({
      ok: true,
      index: 1,
      state: { spans: [{ start: 0, end: 3, label: "PER" }, { start: 5, end: 8, label: "PER" }] },
    });
    expect(removeSpan(state, 0)).toEqual({ spans: [{ start: 5, end: 8, label: "LOC" }] });
  });

  it("steps between spans and stops past either end, so Tab can leave", () => {
    const state = { spans: [{ start: 0, end: 1, label: "PER" }, { start: 2, end: 3, label: "PER" }] };
    expect(stepSpan(state, null, false)).toBe(0);
    expect(stepSpan(state, null, true)).toBe(1);
    expect(stepSpan(state, 0, false)).toBe(1);
    expect(stepSpan(state, 1, false)).toBeNull();
    expect(stepSpan(state, 0, true)).toBeNull();
    expect(stepSpan({ spans: [] }, null, false)).toBeNull();
  });

  it("cuts the text at span edges (in UTF-16) with the spans covering each piece", () => {
    const text = "😀 Ada Lovelace";
    const spans = [{ start: 2, end: 14, label: "PER" }, { start: 2, end: 5, label: "PER" }];
    expect(segments(text, spans)).toEqual([
      { from: 0, to: 3, covering: [] },
      { from: 3, to: 6, covering: [0, 1] },
      { from: 6, to: 15, covering: [0] },
    ]);
    expect(segments(text, [], [3])).toEqual([
      { from: 0, to: 3, covering: [] },
      { from: 3, to: 15, covering: [] },
    ]);
  });

  it("keeps the result in code points, and reads a draft back", () => {
    const state = { spans: [{ start: 2, end: 5, label: "PER" }] };
    expect(buildResult("ner", SCHEMA, state)).toEqual({ ok: true, result: { spans: [{ start: 2, end: 5, label: "PER" }] } });
    expect(stateFromDraft("ner", draftOf(state))).toEqual(state);
    expect(stateFromDraft("ner", draftOf({ spans: [{ start: "2", end: 5, label: "PER" }] } as never))).toBeNull();
  });
});

describe("the keys of spans", () => {
  const key = (value: string, extra: Partial<KeyInput> = {}): KeyInput => ({
    key: value, ctrl: false, meta: false, shift: false, alt: false, typing: false, ...extra,
  });

  it("passes arrows, Tab and Delete to the view, never while typing", () => {
    expect(commandFor(key("ArrowRight", { shift: true }), "work")).toEqual({ kind: "nav", key: "ArrowRight", shift: true });
    expect(commandFor(key("Tab"), "work")).toEqual({ kind: "nav", key: "Tab", shift: false });
    expect(commandFor(key("Delete"), "work")).toEqual({ kind: "nav", key: "Delete", shift: false });
    expect(commandFor(key("ArrowLeft", { typing: true }), "work")).toBeNull();
    expect(commandFor(key("Tab"), "help")).toBeNull();
  });
});

describe("relations between spans", () => {
  const LINKED: NerSchema = { ...SCHEMA, relations: [{ name: "lives_in" }, { name: "knows" }] };
  const two = { spans: [{ start: 0, end: 3, label: "PER" }, { start: 10, end: 15, label: "LOC" }] };

  it("give the spans ids as they need them, and keep them", () => {
    const made = addRelation(two, 0, 1, "lives_in");
    expect(made).toEqual({
      ok: true,
      state: {
        spans: [{ start: 0, end: 3, label: "PER", id: "s1" }, { start: 10, end: 15, label: "LOC", id: "s2" }],
        relations: [{ from: "s1", to: "s2", label: "lives_in" }],
      },
    });
    if (!made.ok) return;
    const again = addRelation(made.state, 1, 0, "knows");
    expect(again.ok && again.state.relations).toEqual([
      { from: "s1", to: "s2", label: "lives_in" },
      { from: "s2", to: "s1", label: "knows" },
    ]);
    expect(withId({ spans: [{ start: 0, end: 1, label: "PER", id: "s1" }, { start: 2, end: 3, label: "PER" }] }, 1).id).toBe("s2");
  });

  it("refuse a span to itself and a repeat", () => {
    expect(addRelation(two, 0, 0, "knows")).toEqual({ ok: false, problem: "A relation joins two different spans." });
    const made = addRelation(two, 0, 1, "knows");
    expect(made.ok && addRelation(made.state, 0, 1, "knows").ok).toBe(false);
    expect(addRelation(two, 0, 7, "knows").ok).toBe(false);
  });

  it("follow their spans: kept on a relabel, gone with a removed span", () => {
    const made = addRelation(two, 0, 1, "lives_in");
    if (!made.ok) throw new Error(made.problem);
    const relabelled = relabel(LINKED, made.state, 1, "PER");
    expect(relabelled.ok && relabelled.state.relations).toEqual([{ from: "s1", to: "s2", label: "lives_in" }]);
    expect(relabelled.ok && relabelled.state.spans[1]).toEqual({ start: 10, end: 15, label: "PER", id: "s2" });
    expect(removeSpan(made.state, 1)).toEqual({ spans: [{ start: 0, end: 3, label: "PER", id: "s1" }] });
    expect(removeRelation(made.state, 0)).toEqual({ spans: made.state.spans });
    expect(spanIndex(made.state, "s2")).toBe(1);
  });

  it("go into the result and come back from a draft and a result", () => {
    const made = addRelation(two, 0, 1, "lives_in");
    if (!made.ok) throw new Error(made.problem);
    const built = buildResult("ner", LINKED, made.state);
    expect(built).toEqual({ ok: true, result: made.state });
    expect(stateFromDraft("ner", draftOf(made.state))).toEqual(made.state);
    expect(stateFromDraft("ner", draftOf({ spans: [], relations: [{ from: 1, to: "x", label: "y" }] } as never))).toEqual({ spans: [] });
    expect(buildResult("ner", SCHEMA, two)).toEqual({ ok: true, result: two });
  });

  it("are listed in the help only when the schema has relation labels", () => {
    const keys = (schema: NerSchema): string[] => shortcuts("ner", schema).map(([key]) => key);
    expect(keys(SCHEMA)).not.toContain("Enter");
    expect(keys(LINKED)).toContain("Enter");
    expect(keys(LINKED)).toContain("1, 2");
  });
});
