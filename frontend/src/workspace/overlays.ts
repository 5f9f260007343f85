// The help overlay (every shortcut) and the skip question (one key per reason). Both are small
// modal dialogs over the workspace: while one is open, Tab and Shift+Tab go round its own
// controls only (the page behind is out of reach, as aria-modal says), Esc closes it (the
// workspace's keyboard map), and closing gives the focus back where it was.

import { h, kbd, required } from "./dom";
import { reasonKeys, type Shortcut } from "./keys";

const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled]):not([type=hidden])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  "[tabindex]:not([tabindex='-1'])",
].join(", ");

/** The controls inside `root` that Tab stops at, in document order (hidden ones left out). */
export function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((element) => {
    const hidden = element.closest("[hidden]");
    return hidden === null || hidden.contains(root); // hidden inside the dialog: not a stop
  });
}

/** Where Tab (or Shift+Tab) from `active` goes among `items`, wrapping at either end; null when
 *  the browser's own order already stays inside. */
export function trapTarget(items: readonly HTMLElement[], active: Element | null, back: boolean): HTMLElement | null {
  const first = items[0];
  const last = items[items.length - 1];
  if (!first || !last) return null;
  const at = active instanceof HTMLElement ? items.indexOf(active) : -1;
  if (at < 0) return back ? last : first;
  if (back && at === 0) return last;
  if (!back && at === items.length - 1) return first;
  return null;
}

export class Overlay {
  private returnTo: HTMLElement | null = null;

  constructor(
    readonly element: HTMLElement,
    private readonly first: () => HTMLElement | null,
  ) {
    // On the document and first (capture), so a focus that slipped out is brought back too.
    document.addEventListener("keydown", (event) => this.trap(event), true);
  }

  private trap(event: KeyboardEvent): void {
    if (event.key !== "Tab" || !this.open || !this.element.isConnected) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const items = focusables(this.element);
    const target = items.length === 0 ? null : trapTarget(items, document.activeElement, event.shiftKey);
    if (items.length === 0 || target) event.preventDefault();
    target?.focus();
  }

  get open(): boolean {
    return !this.element.hidden;
  }

  show(): void {
    this.returnTo = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    this.element.hidden = false;
    this.first()?.focus();
  }

  hide(): void {
    if (!this.open) return;
    this.element.hidden = true;
    if (this.returnTo?.isConnected) this.returnTo.focus();
    this.returnTo = null;
  }
}

export function helpOverlay(root: HTMLElement, list: Shortcut[]): Overlay {
  const element = required<HTMLElement>(root, "[data-ws=help]");
  const body = required<HTMLElement>(element, "[data-ws=help-keys]");
  body.replaceChildren(
    ...list.map(([keys, action]) => h("tr", {}, h("td", {}, h("kbd", {}, keys)), h("td", {}, action))),
  );
  const close = required<HTMLButtonElement>(element, "[data-ws=help-close]");
  const overlay = new Overlay(element, () => close);
  close.addEventListener("click", () => overlay.hide());
  return overlay;
}

export interface SkipQuestion {
  overlay: Overlay;
  note: HTMLInputElement;
  /** The reason a key picks, if any. */
  reasonFor(key: string): string | undefined;
}

export function skipQuestion(
  root: HTMLElement,
  reasons: { value: string; label: string }[],
  pick: (reason: string) => void,
): SkipQuestion {
  const element = required<HTMLElement>(root, "[data-ws=skip-panel]");
  const note = required<HTMLInputElement>(element, "[data-ws=skip-note]");
  const keys = reasonKeys(reasons);
  const buttons = reasons.map((reason, index) => {
    const key = String(index + 1);
    const button = h(
      "button",
      { type: "button", class: "ws-reason", "aria-keyshortcuts": keys.has(key) ? key : undefined },
      keys.has(key) ? kbd(key) : null,
      ` ${reason.label}`,
    );
    button.addEventListener("click", () => pick(reason.value));
    return button;
  });
  required<HTMLElement>(element, "[data-ws=reasons]").replaceChildren(...buttons);
  const overlay = new Overlay(element, () => buttons[0] ?? null);
  required<HTMLButtonElement>(element, "[data-ws=skip-cancel]").addEventListener("click", () => overlay.hide());
  return { overlay, note, reasonFor: (key) => keys.get(key) };
}
