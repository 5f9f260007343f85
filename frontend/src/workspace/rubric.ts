// Rubric rating: the response (and its prompt), then one group of points per criterion with its
// anchors. Number keys rate the criterion that has the focus; Tab moves between criteria (each
// group of radios is one stop); comments if the schema takes them.

import { keyOfPoint, rate, scaleKeys, scalePoints } from "./answer";
import { h, kbd, textBlock, uid } from "./dom";
import type { AnswerState, RubricSchema, RubricState } from "./types";
import type { View, ViewContext } from "./view";

interface Criterion {
  name: string;
  set: HTMLFieldSetElement;
  inputs: HTMLInputElement[];
  keys: Map<string, number>;
}

function criterionSet(
  context: ViewContext<RubricState, RubricSchema>,
  criterion: RubricSchema["criteria"][number],
): Criterion {
  const name = uid("ws-criterion");
  const scale = criterion.scale;
  const rows = scalePoints(scale).map((value) => {
    const key = keyOfPoint(scale, value);
    const anchor = scale.anchors?.[String(value)];
    const input = h("input", { type: "radio", name, value: String(value), "aria-keyshortcuts": key });
    input.addEventListener("change", () => context.change(rate(context.current(), criterion.name, value)));
    const row = h(
      "label",
      { class: "ws-choice" },
      input,
      key ? kbd(key) : h("span", { class: "ws-nokey" }),
      h("span", { class: "ws-choice-name" }, String(value)),
      anchor ? h("span", { class: "help ws-choice-help" }, anchor) : null,
    );
    return { input, row };
  });
  const optional = criterion.required === false ? " (optional)" : "";
  const set = h(
    "fieldset",
    { class: "ws-choices ws-scale ws-criterion" },
    h("legend", {}, criterion.name + optional),
    criterion.description ? h("p", { class: "help" }, criterion.description) : null,
    ...rows.map((r) => r.row),
  );
  return { name: criterion.name, set, inputs: rows.map((r) => r.input), keys: scaleKeys(scale) };
}

export function rubricView(context: ViewContext<RubricState, RubricSchema>): View {
  const { schema, data } = context;
  const criteria = schema.criteria.map((c) => criterionSet(context, c));
  const commentsId = uid("ws-comments");
  const comments = h("textarea", { id: commentsId, rows: 3, class: "ws-note" });
  comments.addEventListener("input", () =>
    context.change({ ...context.current(), comments: comments.value }, "comments"),
  );
  const takesComments = schema.comments ?? true;
  const answer = h(
    "div",
    {},
    ...criteria.map((c) => c.set),
    takesComments ? h("label", { for: commentsId }, "Comments (optional)") : null,
    takesComments ? comments : null,
  );
  const content = h(
    "div",
    {},
    typeof data["prompt"] === "string" ? textBlock("Prompt", data["prompt"], uid("ws-prompt")) : null,
    textBlock("Response", data["response"], uid("ws-response")),
  );
  const focusIn = (criterion: Criterion | undefined): void => {
    if (!criterion) return;
    (criterion.inputs.find((i) => i.checked) ?? criterion.inputs[0])?.focus();
  };

  return {
    content,
    answer,
    show(state: AnswerState) {
      const scores = (state as RubricState).scores;
      for (const c of criteria) for (const input of c.inputs) input.checked = String(scores[c.name]) === input.value;
      if (comments.value !== (state as RubricState).comments) comments.value = (state as RubricState).comments;
    },
    key(key: string) {
      const focused = criteria.find((c) => c.set.contains(document.activeElement)) ?? criteria[0];
      const value = focused?.keys.get(key);
      if (!focused || value === undefined) return false;
      context.change(rate(context.current(), focused.name, value));
      focusIn(focused);
      return true;
    },
    focus() {
      const scores = context.current().scores;
      focusIn(criteria.find((c) => !(c.name in scores)) ?? criteria[0]);
    },
  };
}
