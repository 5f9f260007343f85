// The preview's light check of a label schema as typed: is it an object, are the keys each type
// needs there, and are the parts a view builds from (label lists, scales) shaped so that it can
// draw them. The server's validation (projects/schemas.py) stays the judge; paths are written
// the way it writes them (label_schema.labels[1].name).

import type { TaskType } from "../workspace/types";

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isInteger = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value);

/** The keys a schema must have and may have, per type. */
const KEYS: Record<TaskType, { required: string[]; allowed: string[] }> = {
  classification: { required: ["labels"], allowed: ["labels", "multiple"] },
  ner: { required: ["labels"], allowed: ["allow_overlap", "labels", "relations"] },
  boxes: { required: ["labels"], allowed: ["labels", "min_size"] },
  pairwise: { required: [], allowed: ["choices", "randomize", "rationale", "strength"] },
  rubric: { required: ["criteria"], allowed: ["comments", "criteria"] },
  free_text: { required: ["mode", "min_length"], allowed: ["guidelines", "max_length", "min_length", "mode"] },
  chat: {
    required: ["turn_ratings", "flags", "comments"],
    allowed: ["comments", "conversation_rating", "flags", "turn_ratings"],
  },
};

/** The label lists' least lengths (the server's minItems). */
const LEAST_LABELS: Partial<Record<TaskType, number>> = { classification: 2, ner: 1, boxes: 1 };

function named(value: unknown, path: string, least: number): string | null {
  if (!Array.isArray(value)) return `${path}: must be a list.`;
  if (value.length < least) return `${path}: must have at least ${least} item(s).`;
  for (const [index, item] of value.entries()) {
    if (!isObject(item)) return `${path}[${index}]: must be an object.`;
    if (typeof item["name"] !== "string" || !item["name"].trim()) return `${path}[${index}].name: is required.`;
  }
  return null;
}

function scale(value: unknown, path: string): string | null {
  if (!isObject(value)) return `${path}: must be an object with "min" and "max".`;
  for (const key of ["min", "max"]) {
    if (!isInteger(value[key])) return `${path}.${key}: must be a whole number.`;
  }
  const [low, high] = [value["min"] as number, value["max"] as number];
  if (high <= low) return `${path}.max: must be greater than min.`;
  if (high - low > 10) return `${path}.max: a scale spans at most 10.`;
  return null;
}

function boolean(schema: Json, key: string): string | null {
  return key in schema && typeof schema[key] !== "boolean" ? `label_schema.${key}: must be true or false.` : null;
}

const PARTS: Record<TaskType, (schema: Json) => string | null> = {
  classification: (s) => boolean(s, "multiple"),
  ner: (s) => boolean(s, "allow_overlap") ?? ("relations" in s ? named(s["relations"], "label_schema.relations", 0) : null),
  boxes: (s) =>
    "min_size" in s && (typeof s["min_size"] !== "number" || s["min_size"] < 0 || s["min_size"] > 1)
      ? "label_schema.min_size: must be a number from 0 to 1."
      : null,
  pairwise: (s) => {
    const choices = s["choices"];
    if (choices !== undefined && (!Array.isArray(choices) || !choices.includes("a") || !choices.includes("b")))
      return 'label_schema.choices: must be a list including "a" and "b".';
    if ("strength" in s) return scale(s["strength"], "label_schema.strength");
    const rationale = s["rationale"];
    if (rationale !== undefined && !(isObject(rationale) && typeof rationale["required"] === "boolean"))
      return 'label_schema.rationale: must be an object with "required" and "min_length".';
    return null;
  },
  rubric: (s) => {
    const criteria = s["criteria"];
    const problem = named(criteria, "label_schema.criteria", 1);
    if (problem) return problem;
    for (const [index, criterion] of (criteria as Json[]).entries()) {
      const bad = scale(criterion["scale"], `label_schema.criteria[${index}].scale`);
      if (bad) return bad;
    }
    return boolean(s, "comments");
  },
  free_text: (s) => {
    if (s["mode"] !== "write" && s["mode"] !== "rewrite") return 'label_schema.mode: must be one of "write", "rewrite".';
    if (!isInteger(s["min_length"]) || s["min_length"] < 0) return "label_schema.min_length: must be a whole number, 0 or more.";
    return null;
  },
  chat: (s) =>
    scale(s["turn_ratings"], "label_schema.turn_ratings") ??
    ("conversation_rating" in s ? scale(s["conversation_rating"], "label_schema.conversation_rating") : null) ??
    named(s["flags"], "label_schema.flags", 0) ??
    boolean(s, "comments"),
};

/** What keeps the schema from being drawn, in words (null: it can be previewed). */
export function schemaProblem(type: TaskType, schema: unknown): string | null {
  if (!isObject(schema)) return "the schema must be a JSON object, {…}.";
  const { required, allowed } = KEYS[type];
  const missing = required.find((key) => !(key in schema));
  if (missing) return `label_schema: '${missing}' is required.`;
  const unknown = Object.keys(schema).find((key) => !allowed.includes(key));
  if (unknown) return `label_schema: unknown field '${unknown}'; allowed: ${allowed.join(", ")}.`;
  const least = LEAST_LABELS[type];
  if (least !== undefined) {
    const problem = named(schema["labels"], "label_schema.labels", least);
    if (problem) return problem;
  }
  return PARTS[type](schema);
}

/** The options the page has beside the label lines (each type uses its own). */
export interface LineOptions {
  multiple: boolean;
  allow_overlap: boolean;
  min_size: string;
}

// "Positive [1]": a label name, optionally followed by its hotkey in brackets (as the server
// reads the lines, projects/forms.py).
const LABEL_LINE = /^(.*?)\s*(?:\[([^\]]*)\])?\s*$/;

/** The schema the server makes of the label lines and the type's option. */
export function schemaFromLines(type: TaskType, text: string, options: LineOptions): Json {
  const labels = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line)
    .map((line) => {
      const match = LABEL_LINE.exec(line);
      const label: Json = { name: match?.[1] ?? line };
      if (match?.[2] !== undefined) label["hotkey"] = match[2].trim().toLowerCase();
      return label;
    });
  const schema: Json = { labels };
  if (type === "classification" && options.multiple) schema["multiple"] = true;
  if (type === "ner" && options.allow_overlap) schema["allow_overlap"] = true;
  if (type === "boxes" && options.min_size.trim()) schema["min_size"] = Number(options.min_size);
  return schema;
}
