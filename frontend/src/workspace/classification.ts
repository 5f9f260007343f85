// Classification: the text, and one radio (or checkbox, with `multiple`) per label with its key.

import { chooseLabel, labelKeys } from "./answer";
import { h, kbd, textBlock, uid } from "./dom";
import type { AnswerState, ClassificationSchema, ClassificationState } from "./types";
import type { View, ViewContext } from "./view";

export function classificationView(
  context: ViewContext<ClassificationState, ClassificationSchema>,
): View {
  const { schema } = context;
  const keyOf = new Map([...labelKeys(schema)].map(([key, name]) => [name, key]));
  const byKey = labelKeys(schema);
  const group = uid("ws-label");
  const inputs = schema.labels.map((label) => {
    const key = keyOf.get(label.name);
    const input = h("input", {
      type: schema.multiple ? "checkbox" : "radio",
      name: group,
      value: label.name,
      "aria-keyshortcuts": key?.toUpperCase(),
    });
    input.addEventListener("change", () =>
      context.change(chooseLabel(schema, context.current(), label.name)),
    );
    const row = h(
      "label",
      { class: "ws-choice" },
      input,
      key ? kbd(key.toUpperCase()) : h("span", { class: "ws-nokey" }),
      h("span", { class: "ws-choice-name" }, label.parent ? `${label.parent} › ${label.name}` : label.name),
      label.description ? h("span", { class: "help ws-choice-help" }, label.description) : null,
    );
    return { input, row };
  });
  const legend = schema.multiple ? "Labels (choose one or more)" : "Label (choose one)";
  const answer = h("fieldset", { class: "ws-choices" }, h("legend", {}, legend), ...inputs.map((i) => i.row));

  return {
    content: textBlock("Text", context.data["text"], uid("ws-text")),
    answer,
    show(state: AnswerState) {
      const chosen = (state as ClassificationState).labels;
      for (const { input } of inputs) input.checked = chosen.includes(input.value);
    },
    key(key: string) {
      const name = byKey.get(key);
      if (name === undefined) return false;
      context.change(chooseLabel(schema, context.current(), name));
      return true;
    },
    focus() {
      const target = inputs.find((i) => i.input.checked) ?? inputs[0];
      target?.input.focus();
    },
  };
}
