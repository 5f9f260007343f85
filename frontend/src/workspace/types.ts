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
  /** The labels relations between spans may take (none: no relations). */
  relations?: { name: string; description?: string }[];
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
  /** Annotating the queue's tasks, reviewing others' submissions, or reading the feedback on
   *  one's own answer to one task (`task_id`) and revising it. */
  mode: "annotate" | "review" | "own";
  task_id: string | null;
  project: { id: string; name: string };
  task_type: TaskType;
  label_schema: Schema;
  user_id: string;
  /** The work API of this project, ending with a slash: `${api}next`, `${api}tasks/…`. */
  api: string;
  skip_reasons: { value: string; label: string }[];
  docs_url: string;
  project_url: string;
  work_url: string;
  mine_url: string;
}

export interface AnnotationInfo {
  id: string;
  task_id: string;
  status: string;
  /** "" when the project does not review; else pending, accepted or rejected. */
  review_state: string;
  revision: number;
  time_spent: number;
  draft_saved_at: string | null;
}

/** A model's pre-annotation as imported: the result in the task type's shape, and optionally
 *  which model made it and its score. */
export interface Prediction {
  result?: unknown;
  model?: unknown;
  score?: unknown;
}

/** A task as the API hands it to its annotator (WorkOut). */
export interface Work {
  task_id: string;
  data: Record<string, unknown>;
  prediction: Prediction | null;
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

/** A reviewer's decision (with its comment) or a comment, as the annotation's detail has it. */
export interface Note {
  id: string;
  author: string;
  created_at: string;
  text: string;
  decision?: "accept" | "reject" | "correct";
}

/** One annotation in full (AnnotationDetailOut), as its author may read it. */
export interface AnnotationDetail {
  annotation: AnnotationInfo;
  result: unknown;
  reviews: Note[];
  comments: Note[];
}

export interface ClassificationState {
  labels: string[];
}
/** A labelled span: code-point offsets into the task's text, `end` exclusive; an id once a
 *  relation refers to it. */
export interface Span {
  start: number;
  end: number;
  label: string;
  id?: string;
}
/** A relation from one span to another, by their ids. */
export interface Relation {
  from: string;
  to: string;
  label: string;
}
export interface NerState {
  spans: Span[];
  relations?: Relation[];
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
