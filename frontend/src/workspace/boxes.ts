// Image boxes: the task's image (fetched with the session as a blob, shown through an object URL
// the CSP allows as blob:), boxes over it as positioned elements placed through the CSSOM (the
// CSP forbids style attributes in markup, not style set from script), each showing its label's
// name. Drag on the image to draw, drag a box to move it, drag its corner to resize it; Tab /
// Shift+Tab select, arrows move, Shift+arrows resize, a label's key labels (or, with no box
// selected, adds a labelled box in the middle), Delete removes. + and − zoom (Ctrl+wheel too,
// around the pointer), 0 fits the image again; zoomed, the wheel, the middle button's drag and
// (with no box selected) the arrows pan.

import { labelKeys } from "./answer";
import {
  arrow,
  clamp,
  dragCorner,
  dragMove,
  fromDrag,
  keepAnchor,
  minSize,
  normalize,
  removeBox,
  replaceBox,
  stepBox,
  toNormal,
  zoomStep,
  ZOOMS,
  type Point,
} from "./boxmath";
import { h, labelButtons, uid } from "./dom";
import type { AnswerState, Box, BoxesSchema, BoxesState } from "./types";
import type { View, ViewContext } from "./view";

const percent = (value: number): string => `${Math.round(value * 1000) / 10}%`;

/** Place an element over the image at a box's position, through the CSSOM. */
function place(element: HTMLElement, box: Box): void {
  element.style.left = percent(box.x);
  element.style.top = percent(box.y);
  element.style.width = percent(box.w);
  element.style.height = percent(box.h);
}

const nameOf = (box: Box): string => box.label || "no label";

export function boxesView(context: ViewContext<BoxesState, BoxesSchema>): View {
  const { schema } = context;
  const least = minSize(schema);
  const byKey = labelKeys(schema);
  const keyOf = new Map([...byKey].map(([key, name]) => [name, key]));
  let selected: number | null = null;
  // What the pointer is doing: drawing a box, moving or resizing one (`index`), or panning.
  type Drag =
    | { kind: "draw"; from: Point; pointer: number }
    | { kind: "move" | "corner"; index: number; from: Point; pointer: number; moved: Box | null }
    | { kind: "pan"; x: number; y: number; pointer: number };
  let drag: Drag | null = null;
  let url: string | null = null;
  let disposed = false;
  let zoom = 1;
  let fitted = 0; // the image's width at zoom 1, in pixels

  const helpId = uid("ws-boxes-help");
  const image = h("img", { class: "ws-image", alt: "The task's image", draggable: "false" });
  const preview = h("div", { class: "ws-box ws-box-preview", "aria-hidden": "true", hidden: true });
  const layer = h("div", { class: "ws-box-layer" });
  const stage = h(
    "div",
    { class: "ws-stage", tabindex: 0, role: "group", "aria-label": "Image with boxes", "aria-describedby": helpId },
    image,
    layer,
    preview,
  );
  const viewport = h("div", { class: "ws-viewport" }, stage);
  const zoomShown = h("span", { class: "help ws-zoom", "aria-live": "polite" }, "Zoom 100%");
  const status = h("p", { class: "help", role: "status" }, "Loading the image…");
  const list = h("ol", { class: "ws-span-list ws-box-list", "aria-label": "Boxes" });
  const buttons = labelButtons(schema.labels, keyOf, apply);
  const answer = h(
    "div",
    {},
    h("fieldset", { class: "ws-choices" }, h("legend", {}, "Label the selected box"), ...buttons),
    status,
    h("h2", { class: "ws-field-title" }, "Boxes"),
    list,
  );
  const content = h(
    "section",
    { class: "task-field" },
    h("h2", { class: "ws-field-title" }, "Image"),
    h(
      "p",
      { class: "help", id: helpId },
      "Drag on the image to draw a box, drag a box to move it, its corner to resize it; Tab selects a box, arrows move it, Shift+arrows resize it, a label's key labels it; + and − zoom, 0 fits.",
    ),
    zoomShown,
    viewport,
  );

  const current = (): BoxesState => context.current();
  const say = (message: string): void => void (status.textContent = message);

  if (context.image) {
    context.image().then(
      (blob) => {
        if (disposed) return;
        url = URL.createObjectURL(blob);
        image.src = url;
        say("");
      },
      (error: unknown) => say(`The image could not be loaded: ${error instanceof Error ? error.message : String(error)}`),
    );
  } else say("This task has no image.");

  function apply(label: string): void {
    const state = current();
    say("");
    if (selected !== null && state.boxes[selected]) {
      context.change(replaceBox(state, selected, { ...state.boxes[selected]!, label }));
      return;
    }
    // From the keyboard alone: a labelled box in the middle, to move and resize with the arrows.
    const side = Math.max(0.2, least);
    const box = normalize({ x: (1 - side) / 2, y: (1 - side) / 2, w: side, h: side, label }, least);
    selected = state.boxes.length;
    context.change({ boxes: [...state.boxes, box] });
  }

  const pointOf = (event: { clientX: number; clientY: number }): Point =>
    toNormal(event.clientX, event.clientY, image.getBoundingClientRect());

  stage.addEventListener("pointerdown", (event) => {
    if (event.button === 1) {
      event.preventDefault(); // no autoscroll: the middle button pans
      drag = { kind: "pan", x: event.clientX, y: event.clientY, pointer: event.pointerId };
      stage.setPointerCapture?.(event.pointerId);
      return;
    }
    if (event.button !== 0) return;
    event.preventDefault(); // no native image drag, no text selection
    stage.focus();
    const target = event.target instanceof Element ? event.target : null;
    const hit = target?.closest("[data-box]");
    if (hit) {
      const index = Number(hit.getAttribute("data-box"));
      select(index);
      const kind = target?.closest("[data-corner]") ? "corner" : "move";
      drag = { kind, index, from: pointOf(event), pointer: event.pointerId, moved: null };
    } else drag = { kind: "draw", from: pointOf(event), pointer: event.pointerId };
    stage.setPointerCapture?.(event.pointerId);
  });
  stage.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.pointer) return;
    if (drag.kind === "pan") {
      viewport.scrollLeft -= event.clientX - drag.x;
      viewport.scrollTop -= event.clientY - drag.y;
      drag = { ...drag, x: event.clientX, y: event.clientY };
      return;
    }
    if (drag.kind === "draw") {
      const box = fromDrag(drag.from, pointOf(event), "", least);
      preview.hidden = box === null;
      if (box) place(preview, box);
      return;
    }
    const box = current().boxes[drag.index];
    if (!box) return;
    drag.moved = drag.kind === "move" ? dragMove(box, drag.from, pointOf(event), least) : dragCorner(box, pointOf(event), least);
    const element = layer.querySelector<HTMLElement>(`[data-box="${drag.index}"]`);
    if (element) place(element, drag.moved);
  });
  stage.addEventListener("pointerup", (event) => {
    if (!drag || event.pointerId !== drag.pointer) return;
    const done = drag;
    drag = null;
    if (done.kind === "pan") return;
    if (done.kind !== "draw") {
      if (done.moved) context.change(replaceBox(current(), done.index, done.moved));
      return;
    }
    const box = fromDrag(done.from, pointOf(event), "", least);
    preview.hidden = true;
    if (!box) return select(null);
    selected = current().boxes.length;
    say("Box drawn: press a label's key to label it.");
    context.change({ boxes: [...current().boxes, box] });
  });
  stage.addEventListener("pointercancel", () => {
    drag = null;
    preview.hidden = true;
    render(current()); // a move or resize in progress is dropped
  });
  // Ctrl+wheel (and a touchpad's pinch, which the browser sends as one) zooms around the pointer;
  // the wheel alone scrolls the zoomed image, as anywhere else.
  viewport.addEventListener(
    "wheel",
    (event) => {
      if (!event.ctrlKey) return;
      event.preventDefault();
      setZoom(zoomStep(zoom, event.deltaY < 0 ? 1 : -1), event);
    },
    { passive: false },
  );

  /** Show the image at `next` times its fitted size, keeping the point under `anchor` (else the
   *  middle of the view) where it is. */
  function setZoom(next: number, anchor?: { clientX: number; clientY: number }): void {
    const level = clamp(next, ZOOMS[0]!, ZOOMS[ZOOMS.length - 1]!);
    const before = image.getBoundingClientRect();
    if (before.width <= 0 || level === zoom) return;
    if (zoom === 1) fitted = before.width;
    const view = viewport.getBoundingClientRect();
    const ax = anchor ? anchor.clientX - view.left : viewport.clientWidth / 2;
    const ay = anchor ? anchor.clientY - view.top : viewport.clientHeight / 2;
    const [left, top] = [viewport.scrollLeft, viewport.scrollTop];
    zoom = level;
    stage.classList.toggle("ws-zoomed", zoom > 1);
    image.style.width = zoom > 1 ? `${Math.round(fitted * zoom)}px` : "";
    const after = image.getBoundingClientRect();
    viewport.scrollLeft = keepAnchor(left, ax, before.width, after.width);
    viewport.scrollTop = keepAnchor(top, ay, before.height, after.height);
    zoomShown.textContent = `Zoom ${Math.round(zoom * 100)}%`;
  }

  /** Arrows with no box selected, zoomed: scroll the view by a tenth of it. */
  function pan(key: string): boolean {
    if (zoom === 1) return false;
    const dx = key === "ArrowLeft" ? -1 : key === "ArrowRight" ? 1 : 0;
    const dy = key === "ArrowUp" ? -1 : key === "ArrowDown" ? 1 : 0;
    if (dx === 0 && dy === 0) return false;
    viewport.scrollLeft += (dx * viewport.clientWidth) / 10;
    viewport.scrollTop += (dy * viewport.clientHeight) / 10;
    return true;
  }

  /** A box in words (the list is numbered as the boxes' tags are). */
  function describe(box: Box): string {
    return `${nameOf(box)} (at ${percent(box.x)}, ${percent(box.y)}; ${percent(box.w)} × ${percent(box.h)})`;
  }

  function render(state: BoxesState): void {
    if (selected !== null && selected >= state.boxes.length) selected = null;
    layer.replaceChildren(
      ...state.boxes.map((box, index) => {
        const classes = ["ws-box", box.label ? "" : "ws-box-unlabelled", index === selected ? "ws-box-current" : ""];
        const element = h(
          "div",
          { class: classes.join(" ").replace(/\s+/g, " ").trim(), "data-box": index },
          h("span", { class: "ws-box-tag" }, `${index + 1} ${nameOf(box)}`),
          index === selected ? h("span", { class: "ws-box-corner", "data-corner": "", "aria-hidden": "true" }) : null,
        );
        place(element, box);
        return element;
      }),
    );
    list.replaceChildren(
      ...state.boxes.map((box, index) => {
        const item = h("li", { class: index === selected ? "ws-span-current" : undefined, "aria-current": index === selected ? "true" : undefined });
        const pick = h("button", { type: "button", class: "link" }, describe(box));
        pick.addEventListener("click", () => select(index));
        item.append(pick);
        return item;
      }),
    );
    if (state.boxes.length === 0) list.replaceChildren(h("li", { class: "help" }, "No box yet."));
  }

  function select(index: number | null): void {
    selected = index;
    render(current());
    const box = index === null ? null : current().boxes[index];
    say(box ? `Selected box ${index! + 1}: ${describe(box)} (Delete removes it)` : "");
    stage.focus();
  }

  function nav(key: string, shift: boolean): boolean {
    if (document.activeElement !== stage) return false;
    const state = current();
    if (key === "Tab") {
      const next = stepBox(state.boxes.length, selected, shift);
      if (next === null) return false; // past the last box: the focus moves on
      select(next);
      return true;
    }
    if (selected === null || !state.boxes[selected]) return pan(key);
    const index = selected;
    if (key === "Delete" || key === "Backspace") {
      selected = null;
      say("Box removed (Ctrl+Z brings it back).");
      context.change(removeBox(state, index));
      return true;
    }
    const moved = arrow(state.boxes[index]!, key, shift, least);
    if (!moved) return false;
    // A run of presses on one box is one undo step.
    context.change(replaceBox(state, index, moved), `box-${index}-${shift ? "size" : "move"}`);
    return true;
  }

  return {
    content,
    answer,
    show: (state: AnswerState) => render(state as BoxesState),
    key(key: string) {
      const label = byKey.get(key);
      if (label !== undefined) {
        apply(label);
        return true;
      }
      if (key === "+" || key === "=") setZoom(zoomStep(zoom, 1));
      else if (key === "-") setZoom(zoomStep(zoom, -1));
      else if (key === "0") setZoom(1);
      else return false;
      return true;
    },
    nav,
    focus: () => stage.focus(),
    dispose() {
      disposed = true;
      if (url !== null) URL.revokeObjectURL(url);
      url = null;
    },
  };
}
