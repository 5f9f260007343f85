// The work API as the workspace uses it, with the session cookie and the CSRF token like the
// other pages' scripts. Errors carry the API's own message ({"error": {"code", "message"}}).

import type { AnnotationDetail, AnnotationInfo, Note, ReviewWork, Work } from "./types";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The error an API answer means, from its body when it has the API's error shape. */
export function apiError(status: number, body: string): ApiError {
  try {
    const error = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
    if (typeof error?.message === "string" && error.message)
      return new ApiError(error.message, status, typeof error.code === "string" ? error.code : "");
  } catch {
    // not JSON: a proxy's error page, say
  }
  if (status === 0) return new ApiError("The connection to the server was lost; try again.", 0, "offline");
  if (status === 403) return new ApiError("You may not do this on this project (403).", status, "");
  return new ApiError(`The server answered ${status}; try again.`, status, "");
}

export class Api {
  // One request at a time, in order: a draft save never overtakes the submit that follows it,
  // and SQLite (the embedded lab) takes one writer at a time anyway. The prefetch is long done
  // by the time a person answers, so nothing waits that they could notice.
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly base: string,
    private readonly csrf: string,
  ) {}

  private call(method: string, path: string, body?: unknown, keepalive = false): Promise<unknown> {
    // A save as the page is left cannot wait for its turn: the page is going away.
    if (keepalive) return this.send(method, path, body, true);
    return this.inTurn(() => this.send(method, path, body, false));
  }

  /** Run a request after those already asked for. */
  private inTurn<T>(request: () => Promise<T>): Promise<T> {
    const run = this.chain.then(request);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async send(method: string, path: string, body: unknown, keepalive: boolean): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        credentials: "same-origin",
        cache: "no-store",
        keepalive,
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRFToken": this.csrf,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw apiError(0, "");
    }
    const text = await response.text();
    if (!response.ok) throw apiError(response.status, text);
    return response.status === 204 || !text ? null : JSON.parse(text);
  }

  /** The task in hand (`resume`) or another one; null when the queue has nothing left. */
  async next(resume: boolean): Promise<Work | null> {
    return (await this.call("POST", "next", { resume })) as Work | null;
  }

  async open(taskId: string): Promise<Work> {
    return (await this.call("GET", `tasks/${taskId}/work`)) as Work;
  }

  /** The tasks this person holds a lease on, oldest first. */
  async held(userId: string): Promise<string[]> {
    const query = new URLSearchParams({ status: "leased", annotator: userId, page_size: "10" });
    const page = (await this.call("GET", `annotations/?${query}`)) as {
      results: { task_id: string }[];
    };
    return page.results.map((row) => row.task_id).reverse();
  }

  async saveDraft(taskId: string, draft: unknown, timeSpent: number, keepalive = false): Promise<void> {
    await this.call("PUT", `tasks/${taskId}/draft`, { draft, time_spent: timeSpent }, keepalive);
  }

  async submit(taskId: string, result: unknown, timeSpent: number): Promise<void> {
    await this.call("POST", `tasks/${taskId}/annotations/`, { result, time_spent: timeSpent });
  }

  async skip(taskId: string, reason: string, note: string): Promise<void> {
    await this.call("POST", `tasks/${taskId}/skip`, { reason, note });
  }

  /** A box task's image, as a blob for an object URL (the API answers with the image itself).
   *  In turn like the rest: the image is asked for as the task appears, before the prefetch. */
  image(taskId: string): Promise<Blob> {
    return this.inTurn(() => this.fetchImage(taskId));
  }

  private async fetchImage(taskId: string): Promise<Blob> {
    let response: Response;
    try {
      response = await fetch(`${this.base}tasks/${taskId}/image`, { credentials: "same-origin", cache: "no-store" });
    } catch {
      throw apiError(0, "");
    }
    if (!response.ok) throw apiError(response.status, await response.text());
    return response.blob();
  }

  // --- One's own answer: its feedback, replies and revisions ------------------------------------

  /** The annotation in full: result, reviews with their comments, comments (audited). */
  async annotation(taskId: string, annotationId: string): Promise<AnnotationDetail> {
    return (await this.call("GET", `tasks/${taskId}/annotations/${annotationId}`)) as AnnotationDetail;
  }

  async comment(taskId: string, annotationId: string, body: string): Promise<Note> {
    return (await this.call("POST", `tasks/${taskId}/annotations/${annotationId}/comments`, { body })) as Note;
  }

  /** A new revision of one's submitted answer; a rejected one goes back to review. */
  async revise(taskId: string, annotationId: string, result: unknown, timeSpent: number): Promise<AnnotationInfo> {
    const body = { result, time_spent: timeSpent };
    return (await this.call("PATCH", `tasks/${taskId}/annotations/${annotationId}`, body)) as AnnotationInfo;
  }

  // --- Review ---------------------------------------------------------------------------------

  /** The submission this reviewer holds, or the oldest awaiting review; null when none. */
  async reviewNext(): Promise<ReviewWork | null> {
    return (await this.call("POST", "reviews/next")) as ReviewWork | null;
  }

  async review(work: ReviewWork, decision: Decision): Promise<void> {
    const { task_id, id } = work.annotation;
    await this.call("POST", `tasks/${task_id}/annotations/${id}/review`, decision);
  }
}

export type Decision =
  | { decision: "accept" }
  | { decision: "reject"; comment: string }
  | { decision: "correct"; result: Record<string, unknown> };
