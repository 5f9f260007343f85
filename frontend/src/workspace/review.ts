// The review mode: the next submission from the review queue, shown in the task type's own view
// with the answer filled in and read-only; the reviewer accepts (A), rejects with a comment (R)
// or corrects (E, then the answer's keys and Ctrl+Enter), and the next submission appears.
// No prefetch: the queue hands a reviewer the submission they hold first, which is this one.

import { buildResult, emptyState, stateFromResult } from "./answer";
import { Api, ApiError, type Decision } from "./api";
import { viewFor } from "./views";
import { h, required } from "./dom";
import { History } from "./history";
import { isTextField } from "./keys";
import { helpOverlay, Overlay } from "./overlays";
import { reviewCommandFor, reviewShortcuts, type ReviewCommand, type ReviewMode } from "./reviewkeys";
import { formatClock, secondsBetween } from "./time";
import type { AnswerState, Config, ReviewWork } from "./types";
import type { View } from "./view";

// The submission cannot be decided on any more (decided or taken by someone else): move on.
const GONE = new Set(["not_pending", "review_leased", "own_annotation", "annotation_not_found"]);
const JUDGE_BUTTONS = ["accept", "reject", "correct"];
const CORRECT_BUTTONS = ["undo", "cancel", "send"];

export class ReviewWorkspace {
  private readonly api: Api;
  private readonly help: Overlay;
  private readonly rejecting: Overlay;
  private readonly el: Record<string, HTMLElement>;
  private readonly comment: HTMLTextAreaElement;
  private readonly problem: HTMLElement;
  private work: ReviewWork | null = null;
  private view: View | null = null;
  private frame: HTMLFieldSetElement | null = null;
  private submitted: AnswerState = { labels: [] };
  private history = new History<AnswerState>({ labels: [] });
  private correcting = false;
  private busy = false;
  private shownAt = 0;
  private decided = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly config: Config,
  ) {
    this.api = new Api(config.api, root.dataset.csrf ?? "");
    const names = ["task", "answer", "error", "timer", "count", "state", ...JUDGE_BUTTONS, ...CORRECT_BUTTONS];
    this.el = Object.fromEntries(names.map((n) => [n, required<HTMLElement>(root, `[data-ws=${n}]`)]));
    this.help = helpOverlay(root, reviewShortcuts(config.task_type, config.label_schema));
    this.comment = required<HTMLTextAreaElement>(root, "[data-ws=reject-comment]");
    this.problem = required<HTMLElement>(root, "[data-ws=reject-problem]");
    this.rejecting = new Overlay(required<HTMLElement>(root, "[data-ws=reject-panel]"), () => this.comment);
    this.bind();
  }

  private bind(): void {
    document.addEventListener("keydown", (event) => {
      const typing = isTextField(event.target instanceof Element ? event.target : null);
      const input = { key: event.key, ctrl: event.ctrlKey, meta: event.metaKey, shift: event.shiftKey, alt: event.altKey, typing };
      const command = reviewCommandFor(input, this.mode);
      if (command && this.run(command)) event.preventDefault();
    });
    const clicks: [string, ReviewCommand["kind"]][] = [
      ["accept", "accept"], ["reject", "reject"], ["correct", "correct"],
      ["undo", "undo"], ["cancel", "escape"], ["send", "send"],
      ["reject-send", "send"], ["reject-cancel", "escape"], ["help-open", "help"],
    ];
    for (const [name, kind] of clicks)
      required(this.root, `[data-ws=${name}]`).addEventListener("click", () => this.run({ kind } as ReviewCommand));
    window.setInterval(() => this.tick(), 1000);
  }

  private get mode(): ReviewMode {
    if (this.help.open) return "help";
    if (this.rejecting.open) return "reject";
    if (!this.work || this.busy) return "idle";
    return this.correcting ? "correct" : "judge";
  }

  private run(command: ReviewCommand): boolean {
    switch (command.kind) {
      case "escape":
        if (this.help.open) this.help.hide();
        else if (this.rejecting.open) this.rejecting.hide();
        else if (this.correcting) this.setCorrecting(false);
        else return false;
        return true;
      case "help":
        if (this.help.open) this.help.hide();
        else this.help.show();
        return true;
      case "accept":
        void this.decide({ decision: "accept" });
        return true;
      case "reject":
        this.askReject();
        return true;
      case "correct":
        this.setCorrecting(true);
        return true;
      case "send":
        if (this.rejecting.open) void this.sendReject();
        else void this.sendCorrection();
        return true;
      case "undo":
      case "redo":
        return this.undo(command.kind === "redo");
      case "key":
        return this.view?.key(command.key) ?? false;
      case "nav":
        return this.view?.nav?.(command.key, command.shift) ?? false;
    }
  }

  // --- Showing a submission -------------------------------------------------------------------

  /** Show the next submission; `keepError` leaves a message the reviewer has yet to read. */
  async start(keepError = false): Promise<void> {
    if (!keepError) this.clearError();
    let work: ReviewWork | null;
    try {
      work = await this.api.reviewNext();
    } catch (error) {
      return this.idle(error);
    }
    if (work === null) return this.idle(null);
    this.show(work);
  }

  private show(work: ReviewWork): void {
    const { task_type: type, label_schema: schema } = this.config;
    this.work = work;
    this.submitted = stateFromResult(type, work.data, schema, work.result) ?? emptyState(type, work.data, schema);
    this.history = new History(this.submitted);
    this.view?.dispose?.();
    this.view = viewFor(this.config, {
      schema,
      data: work.data,
      current: () => this.history.state,
      change: (next, group) => this.change(next, group),
      image: () => this.api.image(work.annotation.task_id),
    });
    // A disabled fieldset makes every control of the answer read-only until E.
    this.frame = h("fieldset", { class: "ws-readonly", "aria-label": "Submitted answer" }, this.view.answer);
    this.el["task"]!.replaceChildren(this.view.content);
    this.el["answer"]!.replaceChildren(this.frame);
    this.view.show(this.submitted);
    this.shownAt = performance.now();
    this.setCorrecting(false);
    this.tick();
    performance.mark("labelkeep:review-shown");
  }

  /** Nothing to review (or the queue failed): say so, with a button to ask again. */
  private idle(error: unknown): void {
    if (error !== null) this.showError(error);
    this.view?.dispose?.();
    this.work = this.view = this.frame = null;
    const again = h("button", { type: "button" }, error === null ? "Check again" : "Try again");
    again.addEventListener("click", () => void this.start());
    const back = h("a", { class: "button", href: this.config.project_url }, "Back to the project");
    const body =
      error === null
        ? [h("h2", {}, "Nothing awaits review"), h("p", {}, "No submission in this project is waiting for a reviewer right now.")]
        : [];
    this.el["task"]!.replaceChildren(h("div", { class: "empty ws-done" }, ...body, h("p", { class: "actions ws-center" }, again, back)));
    this.el["answer"]!.replaceChildren();
    this.el["state"]!.textContent = "";
    this.setButtons();
    again.focus();
  }

  private setCorrecting(on: boolean): void {
    if (!this.work || !this.view || !this.frame) return;
    this.correcting = on;
    if (!on) {
      this.history = new History(this.submitted);
      this.view.show(this.submitted);
    }
    this.frame.disabled = !on;
    this.frame.setAttribute("aria-label", on ? "Your correction" : "Submitted answer (read-only)");
    this.el["state"]!.textContent = on
      ? "Correcting: change the answer, then Ctrl+Enter sends it (Esc gives up)"
      : "The answer as submitted: Accept (A), Reject (R) or Correct (E)";
    this.setButtons();
    if (on) this.view.focus();
    else this.el["accept"]!.focus();
  }

  private setButtons(): void {
    const live = this.work !== null && !this.busy;
    for (const name of JUDGE_BUTTONS) {
      this.el[name]!.hidden = this.correcting;
      (this.el[name] as HTMLButtonElement).disabled = !live;
    }
    for (const name of CORRECT_BUTTONS) {
      this.el[name]!.hidden = !this.correcting;
      (this.el[name] as HTMLButtonElement).disabled = !live;
    }
    if (live && this.correcting) (this.el["undo"] as HTMLButtonElement).disabled = !this.history.canUndo;
  }

  // --- Correcting -----------------------------------------------------------------------------

  private change(next: AnswerState, group?: string): void {
    if (!this.correcting) return;
    this.history.push(next, group ?? null, performance.now());
    this.view?.show(next);
    this.setButtons();
  }

  private undo(redo: boolean): boolean {
    const state = redo ? this.history.redo() : this.history.undo();
    if (state === null) return false;
    this.view?.show(state);
    this.setButtons();
    return true;
  }

  private async sendCorrection(): Promise<void> {
    if (!this.correcting || !this.work) return;
    const built = buildResult(this.config.task_type, this.config.label_schema, this.history.state, this.work.data);
    if (!built.ok) return this.showError(built.problem);
    await this.decide({ decision: "correct", result: built.result });
  }

  // --- Rejecting ------------------------------------------------------------------------------

  private askReject(): void {
    if (!this.work || this.busy) return;
    this.problem.hidden = true;
    this.rejecting.show();
  }

  private async sendReject(): Promise<void> {
    const comment = this.comment.value.trim();
    if (!comment) {
      this.problem.textContent = "Write a comment: the annotator needs to know why.";
      this.problem.hidden = false;
      return;
    }
    this.rejecting.hide();
    await this.decide({ decision: "reject", comment });
  }

  // --- Deciding -------------------------------------------------------------------------------

  private async decide(decision: Decision): Promise<void> {
    const work = this.work;
    if (!work || this.busy) return;
    this.busy = true;
    this.setButtons();
    try {
      await this.api.review(work, decision);
    } catch (error) {
      this.busy = false;
      this.setButtons();
      this.showError(error);
      if (error instanceof ApiError && GONE.has(error.code)) await this.start(true);
      return;
    }
    this.busy = false;
    this.comment.value = "";
    this.decided += 1;
    this.el["count"]!.textContent = `${this.decided} reviewed in this session`;
    await this.start();
  }

  // --- Feedback -------------------------------------------------------------------------------

  private showError(error: unknown): void {
    const box = this.el["error"]!;
    box.textContent = error instanceof Error ? error.message : String(error);
    box.hidden = false;
  }

  private clearError(): void {
    this.el["error"]!.hidden = true;
    this.el["error"]!.textContent = "";
  }

  private tick(): void {
    const seconds = this.work ? secondsBetween(this.shownAt, performance.now()) : 0;
    this.el["timer"]!.textContent = formatClock(seconds);
  }
}
