// Behaviour for the server-rendered lab pages. Loaded as a module script: the pages carry no
// inline script, so the Content-Security-Policy can forbid it outright.

/** Copy the text of the element named by a button's data-copy attribute. */
export function bindCopyButtons(root: ParentNode): void {
  for (const button of root.querySelectorAll<HTMLButtonElement>("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const target = document.getElementById(button.dataset.copy ?? "");
      if (!target) return;
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(target.textContent?.trim() ?? "");
        button.textContent = "Copied";
      } catch {
        selectText(target);
        button.textContent = "Press Ctrl+C";
      }
      window.setTimeout(() => (button.textContent = label), 2000);
    });
  }
}

function selectText(element: Element): void {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}

/** Ask before a destructive form submits (revoke, remove, archive). */
export function bindConfirmations(root: ParentNode, ask: (message: string) => boolean): void {
  for (const form of root.querySelectorAll<HTMLFormElement>("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!ask(form.dataset.confirm ?? "Are you sure?")) event.preventDefault();
    });
  }
}

/** Submit a form when one of its selects marked data-autosubmit changes (role pickers). */
export function bindAutosubmit(root: ParentNode): void {
  for (const select of root.querySelectorAll<HTMLSelectElement>("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form?.requestSubmit());
  }
}

/** Show and hide the fields that only apply to some choices (token scope -> projects; the task
 *  type -> its label fields): `data-shown-when="name=value"` or `"name=one|two"`. */
export function bindDependentFields(root: ParentNode): void {
  for (const group of root.querySelectorAll<HTMLElement>("[data-shown-when]")) {
    const [name, values = ""] = (group.dataset.shownWhen ?? "").split("=");
    const inputs = root.querySelectorAll<HTMLInputElement | HTMLSelectElement>(`[name="${name}"]`);
    const update = (): void => {
      const chosen = Array.from(inputs).find(
        (input) => !(input instanceof HTMLInputElement && input.type === "radio") || input.checked,
      );
      group.hidden = !values.split("|").includes(chosen?.value ?? "");
    };
    inputs.forEach((input) => input.addEventListener("change", update));
    update();
  }
}

export function init(root: ParentNode = document): void {
  bindCopyButtons(root);
  bindConfirmations(root, (message) => window.confirm(message));
  bindAutosubmit(root);
  bindDependentFields(root);
}

if (typeof document !== "undefined" && !import.meta.env?.VITEST) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => init());
  else init();
}
