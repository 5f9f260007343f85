// Shapes shared by the workspace's modules: the page's config, the API's answers, the schemas.

export type TaskType = "classification" | "ner" | "pairwise" | "rubric" | "free_text" | "chat" | "boxes";

export interface Scale {
  min: number;
  max: number;
  labels?: Record<string, string>;
  anchors?: Record<string, string>;
}

export interface ClassificationSchema {
  multiple?: boolean;
  labels: { name: string; hotkey?: string; parent?: string; description?: string }[];
}

export interface NerSchema {
  labels: { name: string; hotkey?: string; description?: string }[];
  allow_overlap?: boolean;
}

export interface PairwiseSchema {
  choices?: ("a" | "b" | "tie")[];
  strength?: Scale;
  rationale?: { required: boolean; min_length: number };
}

export interface RubricSchema {
  criteria: { name: string; description?: string; scale: Scale; required?: boolean }[];
  comments?: boolean;
}

export interface FreeTextSchema {
  mode: "write" | "rewrite";
  min_length: number;
  max_length?: number;
  guidelines?: string;
}

export interface ChatSchema {
  turn_ratings: Scale;
  conversation_rating?: Scale;
  flags: { name: string; description?: string }[];
  comments?: boolean;
}

export interface BoxesSchema {
  labels: { name: string; hotkey?: string; description?: string }[];
  /** The least width and height of a box, as a fraction of the image's. */
  min_size?: number;
}

export type Schema = ClassificationSchema | NerSchema | PairwiseSchema | RubricSchema | FreeTextSchema | ChatSchema | BoxesSchema;

export interface Config {
  /** Annotating the queue's tasks, or reviewing others' submissions. */
  mode: "annotate" | "review";
  project: { id: string; name: string };
  task_type: TaskType;
  label_schema: Schema;
  user_id: string;
  /** The work API of this project, ending with a slash: `${api}next`, `${api}tasks/…`. */
  api: string;
  skip_reasons: { value: string; label: string }[];
  docs_url: string;
  project_url: string;
}

export interface AnnotationInfo {
  id: string;
  task_id: string;
  status: string;
  time_spent: number;
  draft_saved_at: string | null;
}

/** A task as the API hands it to its annotator (WorkOut). */
export interface Work {
  task_id: string;
  data: Record<string, unknown>;
  prediction: unknown;
  annotation: AnnotationInfo;
  draft: unknown;
  result: unknown;
}

/** A submission as the review queue hands it (ReviewWorkOut): the task's data in its own
 *  order (never swapped) and the result in the task's own terms. */
export interface ReviewWork {
  annotation: AnnotationInfo;
  data: Record<string, unknown>;
  result: Record<string, unknown>;
}

export interface ClassificationState {
  labels: string[];
}
/** A labelled span: code-point offsets into the task's text, `end` exclusive. */
export interface Span {
  start: number;
  end: number;
  label: string;
}
export interface NerState {
  spans: Span[];
}
export interface PairwiseState {
  choice: "a" | "b" | "tie" | null;
  strength: number | null;
  rationale: string;
}
export interface RubricState {
  scores: Record<string, number>;
  comments: string;
}
export interface FreeTextState {
  text: string;
}
/** One assistant turn's answer; flagged before it is rated, its rating is still null. */
export interface ChatTurn {
  rating: number | null;
  flags: string[];
}
/** Turns keyed by the message's index in the conversation, as the result keys them. */
export interface ChatState {
  turns: Record<string, ChatTurn>;
  conversation: number | null;
  comments: string;
}
/** A box in the image's 0..1 terms, top-left corner; `label` is "" until one is chosen. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
  label: string;
}
export interface BoxesState {
  boxes: Box[];
}
export type AnswerState = ClassificationState | NerState | PairwiseState | RubricState | FreeTextState | ChatState | BoxesState;

/** A result ready to submit, or what is missing in words. */
export type Built = { ok: true; result: Record<string, unknown> } | { ok: false; problem: string };
