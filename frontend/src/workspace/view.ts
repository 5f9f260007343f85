// What every task type's view offers the workspace.

import type { AnswerState, Schema } from "./types";

export interface ViewContext<S extends AnswerState = AnswerState, C extends Schema = Schema> {
  schema: C;
  data: Record<string, unknown>;
  current(): S;
  /** A new answer from a control or a key; `group` merges a run of typing into one undo step. */
  change(next: S, group?: string): void;
  /** The task's image (box tasks), fetched with the session. */
  image?(): Promise<Blob>;
}

export interface View {
  /** The task's content, for the main area. */
  content: HTMLElement;
  /** The answer's controls, for the side panel. */
  answer: HTMLElement;
  /** Show a state: after an edit, an undo, a restored draft. */
  show(state: AnswerState): void;
  /** A single key the keyboard map passed on; whether it meant something here. */
  key(key: string): boolean;
  /** A navigation key (arrows, Tab, Delete), for views that use them; false leaves it alone. */
  nav?(key: string, shift: boolean): boolean;
  /** Where the focus goes when the task appears. */
  focus(): void;
  /** The task is going away: let go of what the view holds (an image's object URL). */
  dispose?(): void;
}
