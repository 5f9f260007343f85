// Pairwise preference: the prompt, two responses side by side (as the API orders them for this
// annotator), the choice (A, B, tie), the strength on the schema's scale and a rationale.

import { choosePair, chooseStrength, keyOfPoint, scaleKeys, scalePoints } from "./answer";
import { h, kbd, textBlock, uid } from "./dom";
import type { AnswerState, PairwiseSchema, PairwiseState } from "./types";
import type { View, ViewContext } from "./view";

const CHOICE_NAMES = { a: "A is better", b: "B is better", tie: "Tie" } as const;
const CHOICE_KEYS = { a: "A", b: "B", tie: "T" } as const;

function radio(name: string, value: string, key: string | undefined, text: string, hint?: string) {
  const input = h("input", { type: "radio", name, value, "aria-keyshortcuts": key });
  const row = h(
    "label",
    { class: "ws-choice" },
    input,
    key ? kbd(key) : h("span", { class: "ws-nokey" }),
    h("span", { class: "ws-choice-name" }, text),
    hint ? h("span", { class: "help ws-choice-help" }, hint) : null,
  );
  return { input, row };
}

export function pairwiseView(context: ViewContext<PairwiseState, PairwiseSchema>): View {
  const { schema, data } = context;
  const choiceName = uid("ws-choice");
  const choices = (schema.choices ?? ["a", "b", "tie"]).map((choice) => {
    const one = radio(choiceName, choice, CHOICE_KEYS[choice], CHOICE_NAMES[choice]);
    one.input.addEventListener("change", () => context.change(choosePair(schema, context.current(), choice)));
    return one;
  });
  const scale = schema.strength;
  const strengthName = uid("ws-strength");
  const strengths = (scale ? scalePoints(scale) : []).map((value) => {
    const anchor = scale?.labels?.[String(value)];
    const one = radio(strengthName, String(value), scale && keyOfPoint(scale, value), String(value), anchor);
    one.input.addEventListener("change", () =>
      context.change(chooseStrength(schema, context.current(), value)),
    );
    return one;
  });
  const strengthSet = scale
    ? h("fieldset", { class: "ws-choices ws-scale" }, h("legend", {}, "How strong is the preference?"), ...strengths.map((s) => s.row))
    : null;
  const rules = schema.rationale;
  const rationaleId = uid("ws-rationale");
  const rationale = h("textarea", { id: rationaleId, rows: 4, class: "ws-note" });
  rationale.addEventListener("input", () =>
    context.change({ ...context.current(), rationale: rationale.value }, "rationale"),
  );
  const rationaleLabel = rules?.required
    ? `Rationale (required${rules.min_length > 1 ? `, at least ${rules.min_length} characters` : ""})`
    : "Rationale (optional)";
  const answer = h(
    "div",
    {},
    h("fieldset", { class: "ws-choices" }, h("legend", {}, "Which response is better?"), ...choices.map((c) => c.row)),
    strengthSet,
    h("label", { for: rationaleId }, rationaleLabel),
    rationale,
    h("p", { class: "help" }, "“A” and “B” mean the responses as shown here."),
  );
  const content = h(
    "div",
    { class: "ws-pairwise" },
    textBlock("Prompt", data["prompt"], uid("ws-prompt")),
    h(
      "div",
      { class: "ws-sides" },
      textBlock("Response A", data["response_a"], uid("ws-a")),
      textBlock("Response B", data["response_b"], uid("ws-b")),
    ),
  );
  const strengthKeys = scale ? scaleKeys(scale) : new Map<string, number>();

  return {
    content,
    answer,
    show(state: AnswerState) {
      const s = state as PairwiseState;
      for (const c of choices) c.input.checked = c.input.value === s.choice;
      for (const one of strengths) {
        one.input.checked = s.strength !== null && one.input.value === String(s.strength);
        one.input.disabled = s.choice === "tie";
      }
      strengthSet?.classList.toggle("ws-disabled", s.choice === "tie");
      if (rationale.value !== s.rationale) rationale.value = s.rationale;
    },
    key(key: string) {
      const choice = key === "a" ? "a" : key === "b" ? "b" : key === "t" ? "tie" : null;
      if (choice) {
        context.change(choosePair(schema, context.current(), choice));
        choices.find((c) => c.input.checked)?.input.focus();
        return true;
      }
      const value = strengthKeys.get(key);
      if (value === undefined) return false;
      context.change(chooseStrength(schema, context.current(), value));
      return true;
    },
    focus() {
      (choices.find((c) => c.input.checked) ?? choices[0])?.input.focus();
    },
  };
}
