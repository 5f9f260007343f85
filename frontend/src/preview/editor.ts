// The schema part of the project form: choosing a task type fills in its example (unless the
// manager has written something of their own), and the preview follows what is typed.

import { Debounced } from "../workspace/debounce";
import { required } from "../workspace/dom";
import type { Schema, TaskType } from "../workspace/types";
import { schemaFromLines, schemaProblem } from "./check";
import { SchemaPreview } from "./preview";

/** How long after the last keystroke the preview is drawn again. */
export const PREVIEW_DELAY_MS = 300;
export const NOT_VALID = "The schema is not valid yet: ";

/** Each type's example: label lines, or the schema as JSON (projects/forms.py). */
export type Examples = Partial<Record<TaskType, { lines?: string; json?: string }>>;

const LINE_TYPES: readonly string[] = ["classification", "ner", "boxes"];

interface Fields {
  type: HTMLSelectElement;
  lines: HTMLTextAreaElement;
  json: HTMLTextAreaElement;
  multiple: HTMLInputElement;
  overlap: HTMLInputElement;
  minSize: HTMLInputElement;
}

export class SchemaEditor {
  private readonly fields: Fields;
  private readonly problem: HTMLElement;
  private readonly body: HTMLElement;
  private readonly preview: SchemaPreview;
  private readonly redraw = new Debounced(() => this.draw(), PREVIEW_DELAY_MS);
  private type: TaskType;

  constructor(
    editor: HTMLElement,
    panel: HTMLElement,
    private readonly examples: Examples,
    image: () => Promise<Blob>,
  ) {
    const field = <T extends Element>(name: string): T => required<T>(editor, `[name=${name}]`);
    this.fields = {
      type: field("task_type"),
      lines: field("labels"),
      json: field("schema_json"),
      multiple: field("multiple"),
      overlap: field("allow_overlap"),
      minSize: field("min_size"),
    };
    this.problem = required(panel, "[data-preview=problem]");
    this.body = required(panel, "[data-preview=body]");
    this.preview = new SchemaPreview(required(panel, "[data-preview=task]"), required(panel, "[data-preview=answer]"), image);
    this.type = this.fields.type.value as TaskType;
    this.fields.type.addEventListener("change", () => this.switchType());
    editor.addEventListener("input", (event) => {
      if (event.target !== this.fields.type) this.redraw.schedule();
    });
    // A new project with nothing written yet starts from the first type's example.
    if (!this.fields.lines.value.trim() && !this.fields.json.value.trim()) this.fill(this.type, null);
    this.draw();
  }

  /** Replace the previous type's example with the new type's, where it was left untouched. */
  private switchType(): void {
    const next = this.fields.type.value as TaskType;
    this.fill(next, this.type);
    this.type = next;
    this.redraw.cancel();
    this.draw();
  }

  private fill(next: TaskType, previous: TaskType | null): void {
    const before = previous ? this.examples[previous] : undefined;
    const after = this.examples[next];
    const untouched = (area: HTMLTextAreaElement, example?: string): boolean =>
      !area.value.trim() || (example !== undefined && area.value === example);
    if (untouched(this.fields.lines, before?.lines)) this.fields.lines.value = after?.lines ?? "";
    if (untouched(this.fields.json, before?.json)) this.fields.json.value = after?.json ?? "";
  }

  /** The schema as typed (the JSON when written, else the label lines), or what is wrong. */
  current(): { schema: Schema } | { problem: string } {
    const { lines, json, multiple, overlap, minSize } = this.fields;
    let schema: unknown;
    if (json.value.trim()) {
      try {
        schema = JSON.parse(json.value);
      } catch (error) {
        return { problem: `the JSON does not parse (${error instanceof Error ? error.message : String(error)}).` };
      }
    } else if (LINE_TYPES.includes(this.type)) {
      const options = { multiple: multiple.checked, allow_overlap: overlap.checked, min_size: minSize.value };
      schema = schemaFromLines(this.type, lines.value, options);
    } else {
      return { problem: "write the label schema as JSON." };
    }
    const problem = schemaProblem(this.type, schema);
    return problem ? { problem } : { schema: schema as Schema };
  }

  draw(): void {
    let found = this.current();
    if ("schema" in found) {
      try {
        this.preview.show(this.type, found.schema);
      } catch (error) {
        found = { problem: error instanceof Error ? error.message : String(error) };
      }
    }
    const problem = "problem" in found ? found.problem : null;
    if (problem) this.preview.clear();
    this.problem.textContent = problem ? NOT_VALID + problem : "";
    this.problem.hidden = !problem;
    this.body.hidden = Boolean(problem);
  }
}
