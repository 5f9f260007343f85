// The workspace's own view of a task type, drawn with a sample task and a schema as typed, in a
// mode that talks to no API: answers change only the preview's state and are never sent.

import { emptyState } from "../workspace/answer";
import type { AnswerState, Config, Schema, TaskType } from "../workspace/types";
import type { View, ViewContext } from "../workspace/view";
import { viewFor } from "../workspace/views";
import { SAMPLES } from "./samples";

export class SchemaPreview {
  private view: View | null = null;

  constructor(
    private readonly task: HTMLElement,
    private readonly answer: HTMLElement,
    /** The sample image of box tasks (from our static files). */
    private readonly image: () => Promise<Blob>,
  ) {}

  /** Draw the type's view with this schema; throws what the view could not draw. */
  show(type: TaskType, schema: Schema): void {
    this.clear();
    const data = SAMPLES[type];
    let state: AnswerState = emptyState(type, data, schema);
    const context: ViewContext = {
      schema,
      data,
      current: () => state,
      change: (next) => {
        state = next;
        view.show(next);
      },
      image: type === "boxes" ? this.image : undefined,
    };
    // Only the task type matters to the choice of view; the rest of the config is the workspace's.
    const view = viewFor({ task_type: type } as Config, context);
    this.view = view;
    view.show(state);
    this.task.replaceChildren(view.content);
    this.answer.replaceChildren(view.answer);
  }

  clear(): void {
    this.view?.dispose?.();
    this.view = null;
    this.task.replaceChildren();
    this.answer.replaceChildren();
  }
}
