// One's own answer to one task (the "own" mode, `?task=` on the work page, linked from "My
// work"): the task in its type's view with the answer as sent, read-only; beside it where the
// answer stands and the reviewers' feedback with one's replies, all as text. R writes a reply
// (Ctrl+Enter sends it), E revises the answer with the type's own keys (Ctrl+Enter sends the
// revision, which puts a rejected answer back in the review queue). Everything goes through the
// work API: opening the task (task.read), the annotation (annotation.read), comments, revisions.

import { buildResult, emptyState, stateFromResult } from "./answer";
import { Api } from "./api";
import { viewFor } from "./views";
import { h, required } from "./dom";
import { standingOf, threadOf, type Entry, type Standing } from "./feedback";
import { History } from "./history";
import { isTextField } from "./keys";
import { helpOverlay, type Overlay } from "./overlays";
import { ownCommandFor, ownShortcuts, type OwnCommand, type OwnMode } from "./ownkeys";
import { formatClock, secondsBetween } from "./time";
import type { AnnotationDetail, AnswerState, Config, Work } from "./types";
import type { View } from "./view";

const REVISE_BUTTONS = ["undo", "cancel", "send"];

export class OwnWorkspace {
  private readonly api: Api;
  private readonly help: Overlay;
  private readonly el: Record<string, HTMLElement>;
  private readonly reply: HTMLTextAreaElement;
  private work: Work | null = null;
  private standing: Standing | null = null;
  private view: View | null = null;
  private frame: HTMLFieldSetElement | null = null;
  private sent: AnswerState = { labels: [] };
  private history = new History<AnswerState>({ labels: [] });
  private revising = false;
  private busy = false;
  private shownAt = 0;
  private revisingSince = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly config: Config,
  ) {
    this.api = new Api(config.api, root.dataset.csrf ?? "");
    const names = ["task", "answer", "error", "timer", "state", "decision", "thread", "reply-send", "revise", ...REVISE_BUTTONS];
    this.el = Object.fromEntries(names.map((n) => [n, required<HTMLElement>(root, `[data-ws=${n}]`)]));
    this.reply = required<HTMLTextAreaElement>(root, "[data-ws=reply]");
    this.help = helpOverlay(root, ownShortcuts(config.task_type, config.label_schema));
    this.bind();
  }

  private bind(): void {
    document.addEventListener("keydown", (event) => {
      const typing = isTextField(event.target instanceof Element ? event.target : null);
      const input = { key: event.key, ctrl: event.ctrlKey, meta: event.metaKey, shift: event.shiftKey, alt: event.altKey, typing };
      const command = ownCommandFor(input, this.mode);
      if (command && this.run(command)) event.preventDefault();
    });
    const clicks: [string, OwnCommand["kind"]][] = [
      ["revise", "revise"], ["undo", "undo"], ["cancel", "escape"], ["send", "send"], ["help-open", "help"],
    ];
    for (const [name, kind] of clicks)
      required(this.root, `[data-ws=${name}]`).addEventListener("click", () => this.run({ kind } as OwnCommand));
    this.el["reply-send"]!.addEventListener("click", () => void this.sendReply());
    window.setInterval(() => this.tick(), 1000);
  }

  private get mode(): OwnMode {
    if (this.help.open) return "help";
    if (!this.work || this.busy) return "idle";
    return this.revising ? "revise" : "read";
  }

  private get inReply(): boolean {
    return document.activeElement === this.reply;
  }

  private run(command: OwnCommand): boolean {
    switch (command.kind) {
      case "escape":
        if (this.help.open) this.help.hide();
        else if (this.revising) this.setRevising(false);
        else if (this.inReply) this.leaveReply();
        else return false;
        return true;
      case "help":
        if (this.help.open) this.help.hide();
        else this.help.show();
        return true;
      case "revise":
        this.startRevising();
        return true;
      case "reply":
        this.reply.focus();
        return true;
      case "send":
        if (this.inReply) void this.sendReply();
        else if (this.revising) void this.sendRevision();
        else return false;
        return true;
      case "undo":
      case "redo":
        return !this.inReply && this.undo(command.kind === "redo");
      case "key":
        return this.view?.key(command.key) ?? false;
      case "nav":
        return this.view?.nav?.(command.key, command.shift) ?? false;
    }
  }

  // --- Showing the answer and its feedback ----------------------------------------------------

  /** Open the task and the annotation (again, after a revision); `notice` says what just happened. */
  async start(notice = ""): Promise<void> {
    const taskId = this.config.task_id ?? "";
    let work: Work;
    let detail: AnnotationDetail;
    try {
      work = await this.api.open(taskId);
      detail = await this.api.annotation(taskId, work.annotation.id);
    } catch (error) {
      return this.failed(error);
    }
    this.clearError();
    this.show(work);
    this.renderThread(threadOf(detail, this.config.user_id));
    if (notice) this.el["state"]!.textContent = notice;
    performance.mark("labelkeep:own-shown");
  }

  private show(work: Work): void {
    const { task_type: type, label_schema: schema } = this.config;
    this.work = work;
    this.standing = standingOf(work.annotation);
    this.sent = stateFromResult(type, work.data, schema, work.result) ?? emptyState(type, work.data, schema);
    this.history = new History(this.sent);
    this.view?.dispose?.();
    this.view = viewFor(this.config, {
      schema,
      data: work.data,
      current: () => this.history.state,
      change: (next, group) => this.change(next, group),
      image: () => this.api.image(work.task_id),
    });
    this.frame = h("fieldset", { class: "ws-readonly", "aria-label": "Your answer (read-only)" }, this.view.answer);
    this.el["task"]!.replaceChildren(this.view.content);
    this.el["answer"]!.replaceChildren(this.frame);
    this.view.show(this.sent);
    const badge = this.standing.title === "Rejected" ? "badge danger" : this.standing.title === "Accepted" ? "badge ok" : "badge";
    this.el["decision"]!.replaceChildren(h("span", { class: badge }, this.standing.title), " ", this.standing.detail);
    this.shownAt = performance.now();
    this.setRevising(false);
    this.tick();
  }

  private renderThread(entries: Entry[]): void {
    const thread = this.el["thread"]!;
    thread.replaceChildren(...entries.map((entry) => this.noteItem(entry)));
    if (entries.length === 0) thread.replaceChildren(h("li", { class: "help" }, "No feedback yet."));
  }

  private noteItem(entry: Entry): HTMLElement {
    const said = [entry.who, entry.decision, entry.when].filter(Boolean).join(" · ");
    return h(
      "li",
      { class: entry.own ? "ws-note-item ws-note-own" : "ws-note-item" },
      h("p", { class: "help" }, said),
      entry.text ? h("div", { class: "ws-text" }, entry.text) : null,
    );
  }

  private failed(error: unknown): void {
    this.showError(error);
    this.view?.dispose?.();
    this.work = this.view = this.frame = null;
    const back = h("a", { class: "button", href: this.config.mine_url }, "Back to my work");
    this.el["task"]!.replaceChildren(h("p", { class: "empty actions ws-center" }, back));
    this.el["answer"]!.replaceChildren();
    this.el["decision"]!.replaceChildren();
    this.el["state"]!.textContent = "";
    this.setButtons();
  }

  // --- Revising -------------------------------------------------------------------------------

  private startRevising(): void {
    if (!this.work || this.busy) return;
    if (!this.standing?.revisable) {
      this.showError(this.standing?.title === "Accepted" ? "This answer was accepted: it can no longer be revised." : "This answer cannot be revised.");
      return;
    }
    this.clearError();
    this.setRevising(true);
  }

  private setRevising(on: boolean): void {
    if (!this.work || !this.view || !this.frame) return;
    this.revising = on;
    if (on) this.revisingSince = performance.now();
    else {
      this.history = new History(this.sent);
      this.view.show(this.sent);
    }
    this.frame.disabled = !on;
    this.frame.setAttribute("aria-label", on ? "Your revision" : "Your answer (read-only)");
    this.el["state"]!.textContent = on
      ? "Revising: change the answer, then Ctrl+Enter sends it (Esc gives up)"
      : this.standing?.revisable
        ? "Your answer as sent: Revise (E) or reply (R)"
        : "Your answer as sent: reply (R)";
    this.setButtons();
    if (on) this.view.focus();
  }

  private setButtons(): void {
    const live = this.work !== null && !this.busy;
    const revise = this.el["revise"] as HTMLButtonElement;
    revise.hidden = this.revising;
    revise.disabled = !live || !this.standing?.revisable;
    for (const name of REVISE_BUTTONS) {
      this.el[name]!.hidden = !this.revising;
      (this.el[name] as HTMLButtonElement).disabled = !live;
    }
    if (live && this.revising) (this.el["undo"] as HTMLButtonElement).disabled = !this.history.canUndo;
    (this.el["reply-send"] as HTMLButtonElement).disabled = !live;
  }

  private change(next: AnswerState, group?: string): void {
    if (!this.revising) return;
    this.history.push(next, group ?? null, performance.now());
    this.view?.show(next);
    this.setButtons();
  }

  private undo(redo: boolean): boolean {
    if (!this.revising) return false;
    const state = redo ? this.history.redo() : this.history.undo();
    if (state === null) return false;
    this.view?.show(state);
    this.setButtons();
    return true;
  }

  private async sendRevision(): Promise<void> {
    const work = this.work;
    if (!this.revising || !work || this.busy) return;
    const built = buildResult(this.config.task_type, this.config.label_schema, this.history.state, work.data);
    if (!built.ok) return this.showError(built.problem);
    const wasRejected = work.annotation.review_state === "rejected";
    const spent = secondsBetween(this.revisingSince, performance.now());
    this.busy = true;
    this.setButtons();
    try {
      await this.api.revise(work.task_id, work.annotation.id, built.result, spent);
    } catch (error) {
      this.busy = false;
      this.setButtons();
      return this.showError(error);
    }
    this.busy = false;
    this.revising = false;
    await this.start(wasRejected ? "Revision sent: your answer is back in the review queue." : "Revision saved.");
  }

  // --- Replying -------------------------------------------------------------------------------

  /** Esc in the reply field: back to the answer's keys (the reply written so far stays). */
  private leaveReply(): void {
    const revise = this.el["revise"] as HTMLButtonElement;
    if (!revise.disabled) revise.focus();
    else this.reply.blur();
  }

  private async sendReply(): Promise<void> {
    const work = this.work;
    const body = this.reply.value.trim();
    if (!work || this.busy) return;
    if (!body) return this.showError("Write a reply first.");
    this.busy = true;
    this.setButtons();
    try {
      const note = await this.api.comment(work.task_id, work.annotation.id, body);
      this.reply.value = "";
      this.clearError();
      const thread = this.el["thread"]!;
      thread.querySelector("li.help")?.remove();
      thread.append(this.noteItem(threadOf({ reviews: [], comments: [note] }, this.config.user_id)[0]!));
      this.el["state"]!.textContent = "Reply sent.";
    } catch (error) {
      this.showError(error);
    } finally {
      this.busy = false;
      this.setButtons();
    }
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
