// Building the page's elements. Text goes in as text nodes, never as HTML, so task content,
// label names and anchors can hold anything without running or changing the page.

export type Child = Node | string | null | undefined | false;
export type Attributes = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    // Event handlers are bound with addEventListener, never as attributes.
    if (name.startsWith("on")) throw new Error(`dom.ts: no ${name} attribute`);
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** A block of task text, shown as written (line breaks kept). */
export function textBlock(title: string, value: unknown, id?: string): HTMLElement {
  const text = typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value);
  return h(
    "section",
    { class: "task-field", "aria-labelledby": id },
    h("h2", { class: "ws-field-title", id }, title),
    h("div", { class: "task-text ws-text" }, text),
  );
}

export function kbd(key: string): HTMLElement {
  return h("kbd", { "aria-hidden": "true" }, key);
}

let counter = 0;
/** An id unique in the page, for labels and aria references. */
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

export function required<T extends Element>(root: ParentNode, selector: string): T {
  const found = root.querySelector<T>(selector);
  if (!found) throw new Error(`workspace: the page has no ${selector}`);
  return found;
}

/** A button per label, showing its key (if any) and description; a click picks the label. */
export function labelButtons(
  labels: readonly { name: string; description?: string }[],
  keyOf: ReadonlyMap<string, string>,
  pick: (name: string) => void,
): HTMLElement[] {
  return labels.map((label) => {
    const key = keyOf.get(label.name);
    const button = h(
      "button",
      { type: "button", class: "ws-choice ws-label-button", "aria-keyshortcuts": key?.toUpperCase() },
      key ? kbd(key.toUpperCase()) : h("span", { class: "ws-nokey" }),
      h("span", { class: "ws-choice-name" }, label.name),
      label.description ? h("span", { class: "help ws-choice-help" }, label.description) : null,
    );
    button.addEventListener("click", () => pick(label.name));
    return button;
  });
}
