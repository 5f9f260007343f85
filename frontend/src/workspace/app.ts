// The workspace: takes a task from the queue, shows it, keeps the draft, prefetches the next
// one, submits and skips, all from the keyboard. Everything goes through the work API.

import { buildResult, draftOf, emptyState, stateFromDraft } from "./answer";
import { Api, ApiError } from "./api";
import { Debounced } from "./debounce";
import { h, required } from "./dom";
import { History } from "./history";
import { commandFor, isTextField, shortcuts, type Command, type Mode } from "./keys";
import { helpOverlay, skipQuestion, type Overlay, type SkipQuestion } from "./overlays";
import { isOffline, LocalDrafts, OFFLINE, OFFLINE_SUBMIT, sessionStore } from "./offline";
import { prefillFrom, type Prefill } from "./prefill";
import { formatClock, savedAgo, secondsBetween } from "./time";
import type { AnswerState, Config, Work } from "./types";
import type { View, ViewContext } from "./view";
import { viewFor } from "./views";

/** How long after the last change a draft is saved. */
export const DRAFT_DELAY_MS = 1000;
const PREFILLED = "Prefilled from the model's prediction";
/** How often a draft kept in the browser is tried again (and at once when the browser is back online). */
export const RETRY_MS = 5000;


/** Says, above the answer, that it starts from a model's prediction (and which model). */
function prefillNote(prefill: Prefill): HTMLElement {
  const model = prefill.model ? ` (${prefill.model})` : "";
  return h("p", { class: "message ws-prefill", "data-ws": "prefill" }, `${PREFILLED}${model}: check it, change what is wrong, then submit.`);
}

export class Workspace {
  private readonly api: Api;
  private readonly help: Overlay;
  private readonly skip: SkipQuestion;
  private readonly drafts = new Debounced(() => void this.saveDraft(), DRAFT_DELAY_MS);
  private readonly el: Record<string, HTMLElement>;
  private readonly local: LocalDrafts;
  private offline = false;
  private work: Work | null = null;
  private view: View | null = null;
  private history = new History<AnswerState>({ labels: [] });
  private next: Promise<Work | null> | null = null;
  private busy = false;
  private shownAt = 0;
  private lastSaveAt = 0;
  private savedAt: number | null = null;
  private saving: Promise<void> = Promise.resolve();
  private done = { submitted: 0, skipped: 0 };

  constructor(
    private readonly root: HTMLElement,
    private readonly config: Config,
  ) {
    this.api = new Api(config.api, root.dataset.csrf ?? "");
    const names = ["task", "answer", "error", "offline", "timer", "count", "draft", "submit", "skip", "undo", "redo"];
    this.el = Object.fromEntries(names.map((n) => [n, required<HTMLElement>(root, `[data-ws=${n}]`)]));
    this.help = helpOverlay(root, shortcuts(config.task_type, config.label_schema));
    this.skip = skipQuestion(root, config.skip_reasons, (reason) => void this.skipWith(reason));
    this.local = new LocalDrafts(sessionStore(), config.project.id);
    this.bind();
  }

  private bind(): void {
    document.addEventListener("keydown", (event) => this.onKey(event));
    required(this.root, "[data-ws=help-open]").addEventListener("click", () => this.help.show());
    this.el["submit"]!.addEventListener("click", () => void this.submit());
    this.el["skip"]!.addEventListener("click", () => this.askSkip());
    this.el["undo"]!.addEventListener("click", () => this.undo(false));
    this.el["redo"]!.addEventListener("click", () => this.undo(true));
    window.setInterval(() => this.tick(), 1000);
    window.setInterval(() => this.retry(), RETRY_MS);
    window.addEventListener("online", () => this.retry());
    // A change not yet saved goes out as the page is left (a reload keeps it).
    window.addEventListener("pagehide", () => {
      if (this.drafts.pending) {
        this.drafts.cancel();
        void this.saveDraft(true);
      }
    });
  }

  private get mode(): Mode {
    if (this.help.open) return "help";
    if (this.skip.overlay.open) return "skip";
    return this.work && !this.busy ? "work" : "idle";
  }

  private onKey(event: KeyboardEvent): void {
    const input = {
      key: event.key,
      ctrl: event.ctrlKey,
      meta: event.metaKey,
      shift: event.shiftKey,
      alt: event.altKey,
      typing: isTextField(event.target instanceof Element ? event.target : null),
    };
    const command = commandFor(input, this.mode);
    if (command && this.run(command)) event.preventDefault();
  }

  private run(command: Command): boolean {
    switch (command.kind) {
      case "escape":
        if (!this.help.open && !this.skip.overlay.open) return false;
        this.help.hide();
        this.skip.overlay.hide();
        return true;
      case "help":
        if (this.help.open) this.help.hide();
        else this.help.show();
        return true;
      case "submit":
        void this.submit();
        return true;
      case "undo":
      case "redo":
        this.undo(command.kind === "redo");
        return true;
      case "skip":
        this.askSkip();
        return true;
      case "key":
        return this.onLetter(command.key);
      case "nav":
        return this.view?.nav?.(command.key, command.shift) ?? false;
    }
  }

  private onLetter(key: string): boolean {
    if (this.skip.overlay.open) {
      const reason = this.skip.reasonFor(key);
      if (reason) void this.skipWith(reason);
      return reason !== undefined;
    }
    return this.view?.key(key) ?? false;
  }

  // --- Showing a task -------------------------------------------------------------------------

  async start(): Promise<void> {
    this.clearError();
    await this.advance(() => this.api.next(true), false);
  }

  private show(work: Work): void {
    this.work = work;
    const { task_type: type, label_schema: schema } = this.config;
    // A draft kept in this browser while offline, if newer than the server's, comes first.
    const kept = this.local.newer(work.task_id, work.annotation.draft_saved_at);
    const fromBrowser = kept ? stateFromDraft(type, kept.draft) : null;
    const restored = fromBrowser ?? stateFromDraft(type, work.draft);
    // A model's prediction is the starting point of a task not yet worked on (its draft wins).
    const prefill = restored ? null : prefillFrom(type, schema, work.data, work.prediction);
    const state = restored ?? prefill?.state ?? emptyState(type, work.data, schema);
    this.history = new History(state);
    const context: ViewContext = {
      schema: this.config.label_schema,
      data: work.data,
      current: () => this.history.state,
      change: (next, group) => this.change(next, group),
      image: () => this.api.image(work.task_id),
    };
    this.view?.dispose?.();
    this.view = viewFor(this.config, context);
    this.el["task"]!.replaceChildren(this.view.content);
    this.el["answer"]!.replaceChildren(prefill ? prefillNote(prefill) : "", this.view.answer);
    this.view.show(state);
    this.view.focus();
    this.shownAt = this.lastSaveAt = performance.now();
    this.savedAt = null;
    this.el["draft"]!.textContent = fromBrowser
      ? "Draft restored from this browser"
      : restored
        ? "Draft restored"
        : prefill
          ? PREFILLED
          : "";
    this.setIdle(false);
    this.tick();
    if (fromBrowser) this.drafts.schedule(); // the server has not got it yet
    performance.mark("labelkeep:task-shown");
  }

  private showDone(): void {
    this.view?.dispose?.();
    this.work = null;
    this.view = null;
    const again = h("button", { type: "button" }, "Check again");
    again.addEventListener("click", () => void this.start());
    this.el["task"]!.replaceChildren(
      h(
        "div",
        { class: "empty ws-done" },
        h("h2", {}, "All done"),
        h("p", {}, "No task is waiting for you in this project right now."),
        h("p", { class: "actions ws-center" }, again, h("a", { class: "button", href: this.config.project_url }, "Back to the project")),
      ),
    );
    this.el["answer"]!.replaceChildren();
    this.el["draft"]!.textContent = "";
    this.setIdle(true);
    again.focus();
  }

  private setIdle(idle: boolean): void {
    for (const name of ["submit", "skip", "undo", "redo"]) (this.el[name] as HTMLButtonElement).disabled = idle;
    if (!idle) this.updateUndo();
  }

  /** Show the task `take` gives, then prefetch another. With `retry` (after a submit) a
   *  prefetch that failed or found nothing is asked again of the queue, which may have changed. */
  private async advance(take: () => Promise<Work | null>, retry: boolean): Promise<void> {
    let work: Work | null;
    try {
      work = await take();
      if (work === null && retry) work = await this.api.next(true);
    } catch (error) {
      if (!retry) return this.fail(error);
      try {
        work = await this.api.next(true);
      } catch (again) {
        return this.fail(again);
      }
    }
    this.setOffline(null);
    if (work === null) return this.showDone();
    this.show(work);
    // After a reload the person may already hold a prefetched task: take that one first.
    this.next = this.prefetch(work.task_id, !retry);
    this.next.catch(() => undefined); // a failed prefetch is handled when it is needed
  }

  private fail(error: unknown): void {
    if (isOffline(error)) this.setOffline(OFFLINE);
    this.showError(error);
    this.view?.dispose?.();
    this.work = null;
    this.view = null;
    const again = h("button", { type: "button" }, "Try again");
    again.addEventListener("click", () => void this.start());
    this.el["task"]!.replaceChildren(h("p", { class: "empty" }, again));
    this.el["answer"]!.replaceChildren();
    this.setIdle(true);
  }

  /** The task to show after this one: another held lease after a reload, else a new lease. */
  private async prefetch(current: string, fromHeld: boolean): Promise<Work | null> {
    const held = async (): Promise<Work | null> => {
      const other = (await this.api.held(this.config.user_id)).find((id) => id !== current);
      return other ? this.api.open(other) : this.api.next(false);
    };
    if (fromHeld) return held();
    try {
      return await this.api.next(false);
    } catch (error) {
      if (error instanceof ApiError && error.code === "too_many_leases") return held();
      throw error;
    }
  }

  // --- Answering ------------------------------------------------------------------------------

  private change(next: AnswerState, group?: string): void {
    if (!this.work) return;
    this.history.push(next, group ?? null, performance.now());
    this.view?.show(next);
    this.updateUndo();
    this.drafts.schedule();
  }

  private undo(redo: boolean): void {
    const state = redo ? this.history.redo() : this.history.undo();
    if (state === null) return;
    this.view?.show(state);
    this.updateUndo();
    this.drafts.schedule();
  }

  private updateUndo(): void {
    (this.el["undo"] as HTMLButtonElement).disabled = !this.history.canUndo;
    (this.el["redo"] as HTMLButtonElement).disabled = !this.history.canRedo;
  }

  /** Seconds since the last save, which the API adds to the annotation's total. */
  private takeTime(): number {
    const now = performance.now();
    const spent = secondsBetween(this.lastSaveAt, now);
    this.lastSaveAt = now;
    return spent;
  }

  private saveDraft(keepalive = false): Promise<void> {
    const work = this.work;
    if (!work) return Promise.resolve();
    const draft = draftOf(this.history.state);
    const spent = this.takeTime();
    this.el["draft"]!.textContent = "Saving draft…";
    this.saving = this.api.saveDraft(work.task_id, draft, spent, keepalive).then(
      () => {
        this.local.drop(work.task_id);
        if (this.work !== work) return;
        this.setOffline(null);
        this.savedAt = Date.now();
        this.el["draft"]!.textContent = "Draft saved";
      },
      (error: unknown) => {
        if (this.work !== work) return;
        this.lastSaveAt -= spent * 1000; // not counted by the server: counted with the next save
        if (isOffline(error) && this.local.keep(work.task_id, draft, Date.now())) {
          if (!this.offline) this.setOffline(OFFLINE);
          this.el["draft"]!.textContent = "Draft kept in this browser";
          return;
        }
        this.el["draft"]!.textContent = `Draft not saved: ${error instanceof Error ? error.message : error}`;
      },
    );
    return this.saving;
  }

  private async submit(): Promise<void> {
    const work = this.work;
    if (!work || this.busy) return;
    const built = buildResult(this.config.task_type, this.config.label_schema, this.history.state, work.data);
    if (!built.ok) return this.showError(built.problem);
    await this.finish(() => this.api.submit(work.task_id, built.result, this.takeTime()), "submitted");
  }

  private askSkip(): void {
    if (!this.work || this.busy) return;
    this.skip.note.value = "";
    this.skip.overlay.show();
  }

  private async skipWith(reason: string): Promise<void> {
    const work = this.work;
    if (!work || this.busy) return;
    this.skip.overlay.hide();
    await this.finish(() => this.api.skip(work.task_id, reason, this.skip.note.value.trim()), "skipped");
  }

  /** Send the answer (or the skip), then show the prefetched task at once. */
  private async finish(send: () => Promise<void>, kind: "submitted" | "skipped"): Promise<void> {
    const work = this.work;
    if (!work) return;
    this.busy = true;
    performance.mark("labelkeep:submit");
    this.drafts.cancel();
    await this.saving;
    try {
      await send();
    } catch (error) {
      this.busy = false;
      if (isOffline(error)) {
        this.local.keep(work.task_id, draftOf(this.history.state), Date.now());
        return this.setOffline(OFFLINE_SUBMIT);
      }
      this.showError(error);
      // The slot went to someone else: this task cannot be answered any more.
      if (error instanceof ApiError && error.code === "lease_expired")
        await this.advance(() => this.api.next(true), false);
      return;
    }
    this.clearError();
    this.local.drop(work.task_id);
    this.done[kind] += 1;
    this.el["count"]!.textContent = `${this.done.submitted} submitted, ${this.done.skipped} skipped in this session`;
    const next = this.next ?? this.api.next(true);
    this.next = null;
    await this.advance(() => next, true);
    this.busy = false;
    performance.measure("labelkeep:next", "labelkeep:submit");
  }

  // --- Feedback -------------------------------------------------------------------------------

  /** The offline banner: shown with `message`, or (null) taken down once a request went through. */
  private setOffline(message: string | null): void {
    this.offline = message !== null;
    const banner = this.el["offline"]!;
    banner.textContent = message ?? "";
    banner.hidden = message === null;
  }

  /** While offline, try the kept draft again (every few seconds, and when the browser is back). */
  private retry(): void {
    if (this.offline && this.work && !this.busy && !this.drafts.pending) void this.saveDraft();
  }

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
    if (!this.work) {
      this.el["timer"]!.textContent = formatClock(0);
      return;
    }
    const total = this.work.annotation.time_spent + secondsBetween(this.shownAt, performance.now());
    this.el["timer"]!.textContent = formatClock(total);
    if (this.savedAt !== null && this.el["draft"]!.textContent?.startsWith("Draft saved"))
      this.el["draft"]!.textContent = `Draft saved ${savedAgo(this.savedAt, Date.now())}`;
  }
}
