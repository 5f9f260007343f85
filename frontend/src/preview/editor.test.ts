import { schemaFromLines, schemaProblem } from "./check";
import { NOT_VALID, SchemaEditor, type Examples } from "./editor";

const EXAMPLES: Examples = {
  classification: { lines: "Yes [y]\nNo [n]" },
  ner: { lines: "Person [p]" },
  boxes: { lines: "Car [c]" },
  pairwise: { json: '{"strength": {"min": 1, "max": 3}}' },
  rubric: { json: '{"criteria": [{"name": "Accuracy", "scale": {"min": 1, "max": 5}}]}' },
  free_text: { json: '{"mode": "write", "min_length": 1}' },
  chat: { json: '{"turn_ratings": {"min": 1, "max": 5}, "flags": [{"name": "Unsafe"}], "comments": true}' },
};
const TYPES = Object.keys(EXAMPLES);

function page(type = "classification", lines = "", json = ""): { editor: SchemaEditor; root: HTMLElement } {
  document.body.innerHTML = `
    <fieldset data-schema-editor>
      <select name="task_type">${TYPES.map((t) => `<option${t === type ? " selected" : ""}>${t}</option>`).join("")}</select>
      <textarea name="labels"></textarea>
      <input type="checkbox" name="multiple"><input type="checkbox" name="allow_overlap">
      <input type="number" name="min_size">
      <textarea name="schema_json"></textarea>
    </fieldset>
    <aside data-schema-preview>
      <p data-preview="problem" hidden></p>
      <div data-preview="body"><section data-preview="task"></section><div data-preview="answer"></div></div>
    </aside>`;
  document.querySelector<HTMLTextAreaElement>("[name=labels]")!.value = lines;
  document.querySelector<HTMLTextAreaElement>("[name=schema_json]")!.value = json;
  const root = document.querySelector<HTMLElement>("[data-schema-editor]")!;
  const panel = document.querySelector<HTMLElement>("[data-schema-preview]")!;
  const editor = new SchemaEditor(root, panel, EXAMPLES, () => new Promise<Blob>(() => undefined));
  return { editor, root };
}

const value = (name: string): string => document.querySelector<HTMLTextAreaElement>(`[name=${name}]`)!.value;
const problem = (): HTMLElement => document.querySelector<HTMLElement>("[data-preview=problem]")!;

function choose(type: string): void {
  const select = document.querySelector("select")!;
  select.value = type;
  select.dispatchEvent(new Event("change", { bubbles: true }));
}

describe("SchemaEditor", () => {
  it("starts a new project from the first type's example and previews it", () => {
    page();
    expect(value("labels")).toBe("Yes [y]\nNo [n]");
    expect(problem().hidden).toBe(true);
    expect(document.querySelector("[data-preview=answer]")!.textContent).toContain("No");
  });

  it.each(TYPES)("draws the %s view with its example", (type) => {
    page();
    choose(type);
    expect(problem().textContent).toBe("");
    expect(document.querySelector("[data-preview=task]")!.childElementCount).toBe(1);
    expect(document.querySelector("[data-preview=answer]")!.childElementCount).toBe(1);
  });

  it("replaces untouched examples but keeps what the manager wrote", () => {
    page();
    choose("rubric");
    expect(value("labels")).toBe("");
    expect(value("schema_json")).toBe(EXAMPLES.rubric!.json);
    document.querySelector<HTMLTextAreaElement>("[name=schema_json]")!.value = '{"criteria": []}';
    choose("chat");
    expect(value("schema_json")).toBe('{"criteria": []}');
    expect(problem().textContent).toBe(`${NOT_VALID}label_schema: 'turn_ratings' is required.`);
  });

  it("says why the schema cannot be drawn, after the typing stops", () => {
    vi.useFakeTimers();
    try {
      const { root } = page("pairwise", "", '{"strength": {"min": 1, "max": 3}}');
      const json = document.querySelector<HTMLTextAreaElement>("[name=schema_json]")!;
      json.value = '{"strength": ';
      json.dispatchEvent(new Event("input", { bubbles: true }));
      expect(problem().hidden).toBe(true);
      vi.advanceTimersByTime(400);
      expect(problem().hidden).toBe(false);
      expect(problem().textContent).toMatch(/^The schema is not valid yet: the JSON does not parse/);
      expect(root.ownerDocument.querySelector<HTMLElement>("[data-preview=body]")!.hidden).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("shows task content and label names as text", () => {
    page("classification", "<img src=x onerror=alert(1)> [1]\nSafe [2]");
    expect(document.querySelector("[data-preview=answer] img")).toBeNull();
    expect(document.querySelector("[data-preview=answer]")!.textContent).toContain("<img src=x onerror=alert(1)>");
  });
});

describe("schemaProblem", () => {
  it.each([
    ["classification", { labels: [{ name: "One" }] }, "label_schema.labels: must have at least 2 item(s)."],
    ["ner", { labels: [{ name: "" }] }, "label_schema.labels[0].name: is required."],
    ["boxes", { labels: [{ name: "Car" }], min_size: 2 }, "label_schema.min_size: must be a number from 0 to 1."],
    ["pairwise", { strength: { min: 3, max: 1 } }, "label_schema.strength.max: must be greater than min."],
    ["rubric", { criteria: [{ name: "A", scale: { min: 1 } }] }, "label_schema.criteria[0].scale.max: must be a whole number."],
    ["free_text", { mode: "poem", min_length: 0 }, 'label_schema.mode: must be one of "write", "rewrite".'],
    ["chat", { turn_ratings: { min: 0, max: 20 }, flags: [], comments: true }, "label_schema.turn_ratings.max: a scale spans at most 10."],
    ["classification", [], "the schema must be a JSON object, {…}."],
    ["free_text", { mode: "write", min_length: 0, colour: 1 }, "label_schema: unknown field 'colour'; allowed: guidelines, max_length, min_length, mode."],
  ] as const)("%s %j: %s", (type, schema, message) => {
    expect(schemaProblem(type, schema)).toBe(message);
  });
});

describe("schemaFromLines", () => {
  it("reads the lines as the server does, with the type's option", () => {
    const lines = "Sports [S]\n\n  Politics  \nScience [ x ]";
    const options = { multiple: true, allow_overlap: true, min_size: "0.05" };
    expect(schemaFromLines("classification", lines, options)).toEqual({
      labels: [{ name: "Sports", hotkey: "s" }, { name: "Politics" }, { name: "Science", hotkey: "x" }],
      multiple: true,
    });
    expect(schemaFromLines("boxes", "Car", options)).toEqual({ labels: [{ name: "Car" }], min_size: 0.05 });
  });
});
