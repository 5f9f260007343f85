import { prefillFrom } from "./prefill";

describe("a prediction as the starting answer", () => {
  const labels = { labels: [{ name: "Positive" }, { name: "Negative" }] };

  it("keeps what the schema knows and names the model", () => {
    const prefill = prefillFrom("classification", labels, { text: "Fine." }, { result: { labels: ["Negative"] }, model: "sent-v2", score: 0.9 });
    expect(prefill).toEqual({ state: { labels: ["Negative"] }, model: "sent-v2" });
    const multiple = prefillFrom("classification", { ...labels, multiple: true }, {}, { result: { labels: ["Positive", "Other", "Negative"] } });
    expect(multiple).toEqual({ state: { labels: ["Positive", "Negative"] }, model: "" });
  });

  it("drops labels, spans and points the workspace could not have made", () => {
    const single = prefillFrom("classification", labels, {}, { result: { labels: ["Other", "Positive", "Negative"] } });
    expect(single?.state).toEqual({ labels: ["Positive"] });
    const ner = prefillFrom(
      "ner",
      { labels: [{ name: "PER" }] },
      { text: "😀 Ada" },
      { result: { spans: [{ start: 2, end: 5, label: "PER" }, { start: 4, end: 9, label: "PER" }, { start: 0, end: 1, label: "LOC" }] } },
    );
    expect(ner?.state).toEqual({ spans: [{ start: 2, end: 5, label: "PER" }] });
    const rubric = prefillFrom(
      "rubric",
      { criteria: [{ name: "Accuracy", scale: { min: 1, max: 5 } }, { name: "Tone", scale: { min: 1, max: 3 } }] },
      {},
      { result: { scores: { Accuracy: 4, Tone: 7, Other: 1 } } },
    );
    expect(rubric?.state).toEqual({ scores: { Accuracy: 4 }, comments: "" });
    const pair = prefillFrom("pairwise", { strength: { min: 1, max: 3 } }, {}, { result: { choice: "b", strength: 9 } });
    expect(pair?.state).toEqual({ choice: "b", strength: null, rationale: "" });
    const boxes = prefillFrom(
      "boxes",
      { labels: [{ name: "cat" }], min_size: 0.1 },
      {},
      { result: { boxes: [{ x: 0.95, y: 0, w: 0.01, h: 0.5, label: "cat" }, { x: 0, y: 0, w: 1, h: 1, label: "dog" }] } },
    );
    expect(boxes?.state).toEqual({ boxes: [{ x: 0.9, y: 0, w: 0.1, h: 0.5, label: "cat" }] });
  });

  it("gives nothing for a missing, foreign or empty prediction", () => {
    expect(prefillFrom("classification", labels, {}, null)).toBeNull();
    expect(prefillFrom("classification", labels, {}, { model: "m" })).toBeNull();
    expect(prefillFrom("classification", labels, {}, { result: { labels: "Positive" } })).toBeNull();
    expect(prefillFrom("classification", labels, {}, { result: { labels: ["Unknown"] } })).toBeNull();
    expect(prefillFrom("classification", labels, {}, { result: [1, 2] })).toBeNull();
  });

  it("fills a free text with the model's text, but not a rewrite left as the original", () => {
    const schema = { mode: "rewrite" as const, min_length: 1 };
    const data = { prompt: "Say it", response: "Original." };
    expect(prefillFrom("free_text", schema, data, { result: { text: "Better." } })?.state).toEqual({ text: "Better." });
    expect(prefillFrom("free_text", schema, data, { result: { text: "Original." } })).toBeNull();
  });
});
