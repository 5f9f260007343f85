// A model's prediction as the annotator's starting point. A prediction is imported in the result's
// shape (`{"result": …, "model"?, "score"?}`) but never checked against the schema, so only what
// the workspace could have produced itself is kept: labels of the schema, points on the scales,
// spans inside the text, boxes inside the image. Whatever is left must still be checked (and
// submitted) by the person, as with any answer.

import { stateFromResult, textLength } from "./answer";
import { minSize, normalize } from "./boxmath";
import type {
  AnswerState,
  BoxesSchema,
  BoxesState,
  ChatSchema,
  ChatState,
  ClassificationSchema,
  ClassificationState,
  NerSchema,
  NerState,
  PairwiseSchema,
  PairwiseState,
  Prediction,
  RubricSchema,
  RubricState,
  Scale,
  Schema,
  TaskType,
} from "./types";

export interface Prefill {
  state: AnswerState;
  /** The model's name as imported (text), or "" when the prediction names none. */
  model: string;
}

const names = (schema: { labels: { name: string }[] }): Set<string> => new Set(schema.labels.map((l) => l.name));
const onScale = (scale: Scale | undefined, value: number | null): boolean =>
  scale !== undefined && value !== null && Number.isInteger(value) && value >= scale.min && value <= scale.max;

function keepClassification(schema: ClassificationSchema, state: ClassificationState): ClassificationState {
  const known = state.labels.filter((label) => names(schema).has(label));
  return { labels: schema.multiple ? [...new Set(known)] : known.slice(0, 1) };
}

function keepNer(schema: NerSchema, state: NerState, data: Record<string, unknown>): NerState {
  const length = typeof data["text"] === "string" ? textLength(data["text"]) : 0;
  const spans = state.spans.filter((s) => names(schema).has(s.label) && s.start >= 0 && s.start < s.end && s.end <= length);
  const ids = new Set(spans.map((s) => s.id));
  const kinds = new Set((schema.relations ?? []).map((r) => r.name));
  const relations = (state.relations ?? []).filter((r) => ids.has(r.from) && ids.has(r.to) && r.from !== r.to && kinds.has(r.label));
  return relations.length > 0 ? { spans, relations } : { spans };
}

function keepPairwise(schema: PairwiseSchema, state: PairwiseState): PairwiseState {
  const choice = state.choice !== null && (schema.choices ?? ["a", "b", "tie"]).includes(state.choice) ? state.choice : null;
  const strength = choice !== "tie" && onScale(schema.strength, state.strength) ? state.strength : null;
  return { choice, strength, rationale: state.rationale };
}

function keepRubric(schema: RubricSchema, state: RubricState): RubricState {
  const scores: Record<string, number> = {};
  for (const criterion of schema.criteria) {
    const value = state.scores[criterion.name];
    if (value !== undefined && onScale(criterion.scale, value)) scores[criterion.name] = value;
  }
  return { scores, comments: state.comments };
}

function keepChat(schema: ChatSchema, state: ChatState): ChatState {
  const flags = new Set(schema.flags.map((f) => f.name));
  const turns: ChatState["turns"] = {};
  for (const [index, turn] of Object.entries(state.turns))
    turns[index] = { rating: onScale(schema.turn_ratings, turn.rating) ? turn.rating : null, flags: turn.flags.filter((f) => flags.has(f)) };
  const conversation = onScale(schema.conversation_rating, state.conversation) ? state.conversation : null;
  return { turns, conversation, comments: state.comments };
}

function keepBoxes(schema: BoxesSchema, state: BoxesState): BoxesState {
  const least = minSize(schema);
  return { boxes: state.boxes.filter((box) => names(schema).has(box.label)).map((box) => normalize(box, least)) };
}

function keep(type: TaskType, schema: Schema, state: AnswerState, data: Record<string, unknown>): AnswerState {
  switch (type) {
    case "classification":
      return keepClassification(schema as ClassificationSchema, state as ClassificationState);
    case "ner":
      return keepNer(schema as NerSchema, state as NerState, data);
    case "pairwise":
      return keepPairwise(schema as PairwiseSchema, state as PairwiseState);
    case "rubric":
      return keepRubric(schema as RubricSchema, state as RubricState);
    case "free_text":
      return state;
    case "chat":
      return keepChat(schema as ChatSchema, state as ChatState);
    case "boxes":
      return keepBoxes(schema as BoxesSchema, state as BoxesState);
  }
}

/** The starting answer a prediction gives, or null when it has nothing this workspace can show. */
export function prefillFrom(
  type: TaskType,
  schema: Schema,
  data: Record<string, unknown>,
  prediction: Prediction | null | undefined,
): Prefill | null {
  if (!prediction || typeof prediction !== "object") return null;
  const read = stateFromResult(type, data, schema, prediction.result);
  if (read === null) return null;
  const state = keep(type, schema, read, data);
  if (JSON.stringify(state) === JSON.stringify(stateFromResult(type, data, schema, {}))) return null; // nothing left
  return { state, model: typeof prediction.model === "string" ? prediction.model : "" };
}
