// The help overlay (every shortcut) and the skip question (one key per reason). Both are small
// dialogs over the workspace that give the focus back where it was when they close.

import { h, kbd, required } from "./dom";
import { reasonKeys, type Shortcut } from "./keys";

export class Overlay {
  private returnTo: HTMLElement | null = null;

  constructor(
    readonly element: HTMLElement,
    private readonly first: () => HTMLElement | null,
  ) {}

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
