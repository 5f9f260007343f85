import {
  buildResult,
  chooseLabel,
  choosePair,
  chooseStrength,
  draftOf,
  emptyState,
  labelKeys,
  lengthStatus,
  rate,
  scaleKeys,
  stateFromDraft,
  textLength,
} from "./answer";
import type { AnswerState, ClassificationSchema, PairwiseSchema, RubricSchema, TaskType } from "./types";

const single: ClassificationSchema = {
  labels: [{ name: "Positive", hotkey: "p" }, { name: "Negative", hotkey: "n" }, { name: "Skip me", hotkey: "s" }],
};
const multiple: ClassificationSchema = {
  multiple: true,
  labels: [{ name: "Person" }, { name: "Place" }, { name: "Thing" }],
};

describe("keys of labels and scales", () => {
  it("uses the schema's hotkeys, never a reserved key", () => {
    expect([...labelKeys(single)]).toEqual([
      ["p", "Positive"],
      ["n", "Negative"],
    ]);
  });

  it("numbers labels 1-9 when the schema names no hotkey", () => {
    const many = { labels: Array.from({ length: 11 }, (_, i) => ({ name: `L${i}` })) };
    const keys = labelKeys(many);
    expect(keys.get("1")).toBe("L0");
    expect(keys.get("9")).toBe("L8");
    expect(keys.size).toBe(9);
  });

  it("uses a scale's own digits within 0..9, else positions", () => {
    expect([...scaleKeys({ min: 1, max: 3 })]).toEqual([
      ["1", 1],
      ["2", 2],
      ["3", 3],
    ]);
    expect([...scaleKeys({ min: 0, max: 4 })][0]).toEqual(["0", 0]);
    expect([...scaleKeys({ min: -2, max: 2 })]).toEqual([
      ["1", -2],
      ["2", -1],
      ["3", 0],
      ["4", 1],
      ["5", 2],
    ]);
    const ten = scaleKeys({ min: 0, max: 10 });
    expect(ten.get("1")).toBe(0);
    expect(ten.get("0")).toBe(9);
    expect(ten.size).toBe(10);
  });
});

describe("classification", () => {
  it("replaces the label with one label, toggles with several (in schema order)", () => {
    expect(chooseLabel(single, { labels: ["Positive"] }, "Negative")).toEqual({ labels: ["Negative"] });
    let state = chooseLabel(multiple, { labels: [] }, "Thing");
    state = chooseLabel(multiple, state, "Person");
    expect(state).toEqual({ labels: ["Person", "Thing"] });
    expect(chooseLabel(multiple, state, "Thing")).toEqual({ labels: ["Person"] });
  });

  it("needs a label before it submits", () => {
    expect(buildResult("classification", single, { labels: [] })).toEqual({ ok: false, problem: "Choose a label." });
    expect(buildResult("classification", multiple, { labels: ["Place"] })).toEqual({
      ok: true,
      result: { labels: ["Place"] },
    });
  });
});

describe("pairwise", () => {
  const schema: PairwiseSchema = { strength: { min: 1, max: 3 }, rationale: { required: true, min_length: 5 } };

  it("drops the strength for a tie and ignores choices the project does not offer", () => {
    let state = choosePair(schema, { choice: null, strength: null, rationale: "" }, "a");
    state = chooseStrength(schema, state, 2);
    expect(state).toEqual({ choice: "a", strength: 2, rationale: "" });
    expect(choosePair(schema, state, "tie")).toEqual({ choice: "tie", strength: null, rationale: "" });
    expect(choosePair({ choices: ["a", "b"] }, state, "tie")).toBe(state);
    expect(chooseStrength(schema, { ...state, choice: "tie" }, 3).strength).toBe(2);
  });

  it("asks for what is missing, then builds the result", () => {
    const empty = { choice: null, strength: null, rationale: "" };
    expect(buildResult("pairwise", schema, empty)).toMatchObject({ ok: false });
    expect(buildResult("pairwise", schema, { ...empty, choice: "b" })).toEqual({
      ok: false,
      problem: "Choose how strong the preference is.",
    });
    expect(buildResult("pairwise", schema, { choice: "b", strength: 1, rationale: " abc " })).toEqual({
      ok: false,
      problem: "Write a rationale of at least 5 character(s).",
    });
    expect(buildResult("pairwise", schema, { choice: "b", strength: 1, rationale: "B is right" })).toEqual({
      ok: true,
      result: { choice: "b", strength: 1, rationale: "B is right" },
    });
    expect(buildResult("pairwise", {}, { choice: "tie", strength: null, rationale: "  " })).toEqual({
      ok: true,
      result: { choice: "tie" },
    });
  });
});

describe("rubric", () => {
  const schema: RubricSchema = {
    criteria: [
      { name: "Accuracy", scale: { min: 1, max: 5 } },
      { name: "Style", scale: { min: 1, max: 3 }, required: false },
    ],
    comments: false,
  };

  it("needs every required criterion and keeps the schema's order", () => {
    expect(buildResult("rubric", schema, { scores: {}, comments: "" })).toEqual({ ok: false, problem: "Rate “Accuracy”." });
    const state = rate(rate({ scores: {}, comments: "Nice" }, "Style", 2), "Accuracy", 4);
    const built = buildResult("rubric", schema, state);
    expect(built).toEqual({ ok: true, result: { scores: { Accuracy: 4, Style: 2 } } });
    expect(Object.keys((built as unknown as { result: { scores: object } }).result.scores)).toEqual(["Accuracy", "Style"]);
  });

  it("sends comments only when the project takes them", () => {
    const open = { ...schema, comments: true };
    expect(buildResult("rubric", open, { scores: { Accuracy: 1 }, comments: "Too short" })).toEqual({
      ok: true,
      result: { scores: { Accuracy: 1 }, comments: "Too short" },
    });
  });
});

describe("free text", () => {
  it("counts code points as the server does", () => {
    expect(textLength("héllo 👋")).toBe(7);
    expect(lengthStatus("abc", 5, 10)).toEqual({ length: 3, ok: false, text: "3 / 10 characters · 2 more needed" });
    expect(lengthStatus("   abcdef   ", 5, 10)).toEqual({ length: 12, ok: false, text: "12 / 10 characters · 2 too many" });
    expect(lengthStatus("abcdef", 5, undefined)).toEqual({ length: 6, ok: true, text: "6 characters" });
  });

  it("starts a rewrite from the original and checks the length", () => {
    const schema = { mode: "rewrite" as const, min_length: 3, max_length: 20 };
    expect(emptyState("free_text", { prompt: "p", response: "Original" }, schema)).toEqual({ text: "Original" });
    expect(emptyState("free_text", { prompt: "p", response: "Original" }, { ...schema, mode: "write" })).toEqual({ text: "" });
    expect(buildResult("free_text", schema, { text: "ok" })).toMatchObject({ ok: false });
    expect(buildResult("free_text", schema, { text: "fine" })).toEqual({ ok: true, result: { text: "fine" } });
  });
});

describe("drafts", () => {
  it("round-trips each type's state", () => {
    const states: [TaskType, AnswerState][] = [
      ["classification", { labels: ["A"] }],
      ["pairwise", { choice: "a", strength: 2, rationale: "x" }],
      ["rubric", { scores: { Accuracy: 3 }, comments: "" }],
      ["free_text", { text: "draft" }],
    ];
    for (const [type, state] of states) expect(stateFromDraft(type, draftOf(state))).toEqual(state);
  });

  it("ignores drafts it did not write", () => {
    expect(stateFromDraft("classification", null)).toBeNull();
    expect(stateFromDraft("classification", { labels: ["A"] })).toBeNull();
    expect(stateFromDraft("classification", { version: 99, state: { labels: [] } })).toBeNull();
    expect(stateFromDraft("pairwise", { version: 1, state: { choice: "c", strength: null } })).toBeNull();
    expect(stateFromDraft("free_text", { version: 1, state: { text: 3 } })).toBeNull();
  });
});
