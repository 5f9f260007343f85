// Chat review: the conversation as text bubbles in the main area; in the side panel one group per
// assistant turn (its rating, then its flags, each flag with its key), the conversation's rating
// and comments when the schema has them. The controls live in the side panel so the review mode's
// read-only frame covers them. Number keys rate the focused turn (or the conversation), a flag's
// key toggles it on the focused turn, Tab / Shift+Tab move between the turns and the conversation.

import { keyOfPoint, scaleKeys, scalePoints } from "./answer";
import {
  assistantTurns,
  flagKeys,
  messagesOf,
  rateConversation,
  rateTurn,
  stepStop,
  toggleFlag,
} from "./chatturns";
import { h, kbd, uid } from "./dom";
import type { AnswerState, ChatSchema, ChatState, Scale } from "./types";
import type { View, ViewContext } from "./view";

/** A group of controls Tab stops at: one assistant turn (`index` its message) or the conversation. */
interface Stop {
  index: number | null;
  set: HTMLFieldSetElement;
  radios: HTMLInputElement[];
  flags: HTMLInputElement[];
  bubble: HTMLElement | null;
  summary: HTMLElement | null;
}

const ROLE_NAMES: Record<string, string> = { system: "System", user: "User", assistant: "Assistant" };

function scaleRows(scale: Scale, name: string, rate: (value: number) => void): HTMLInputElement[] {
  return scalePoints(scale).map((value) => {
    const key = keyOfPoint(scale, value);
    const input = h("input", { type: "radio", name, value: String(value), "aria-keyshortcuts": key });
    input.addEventListener("change", () => rate(value));
    return input;
  });
}

function choiceRow(input: HTMLInputElement, key: string | undefined, name: string, help?: string): HTMLElement {
  return h(
    "label",
    { class: "ws-choice" },
    input,
    key ? kbd(key.toUpperCase()) : h("span", { class: "ws-nokey" }),
    h("span", { class: "ws-choice-name" }, name),
    help ? h("span", { class: "help ws-choice-help" }, help) : null,
  );
}

export function chatView(context: ViewContext<ChatState, ChatSchema>): View {
  const { schema } = context;
  const messages = messagesOf(context.data);
  const turnIndices = assistantTurns(messages);
  const keyOfFlag = new Map([...flagKeys(schema)].map(([key, name]) => [name, key]));
  const byFlagKey = flagKeys(schema);
  const bubbles = new Map<number, { bubble: HTMLElement; summary: HTMLElement }>();
  let current = 0;

  const items = messages.map((message, index) => {
    const ordinal = turnIndices.indexOf(index);
    const who = ROLE_NAMES[message.role] ?? message.role;
    const title = ordinal >= 0 ? `${who} · turn ${ordinal + 1}` : who;
    const summary = h("span", { class: "ws-turn-summary" });
    const item = h(
      "li",
      { class: `ws-msg ws-msg-${message.role === "assistant" || message.role === "user" || message.role === "system" ? message.role : "other"}` },
      h("div", { class: "ws-msg-role" }, title, ordinal >= 0 ? summary : null),
      h("div", { class: "ws-text ws-msg-text" }, message.content),
    );
    if (ordinal >= 0) {
      bubbles.set(index, { bubble: item, summary });
      item.addEventListener("click", () => focusStop(ordinal));
    }
    return item;
  });
  const content = h(
    "section",
    { class: "task-field", "aria-label": "Conversation" },
    h("h2", { class: "ws-field-title" }, "Conversation"),
    h("ol", { class: "ws-chat" }, ...items),
  );

  const stops: Stop[] = turnIndices.map((index, ordinal) => {
    const name = uid("ws-turn");
    const radios = scaleRows(schema.turn_ratings, name, (value) => context.change(rateTurn(context.current(), index, value)));
    const flags = schema.flags.map((flag) => {
      const input = h("input", { type: "checkbox", value: flag.name, "aria-keyshortcuts": keyOfFlag.get(flag.name)?.toUpperCase() });
      input.addEventListener("change", () => context.change(toggleFlag(schema, context.current(), index, flag.name)));
      return input;
    });
    const anchors = schema.turn_ratings.anchors ?? {};
    const set = h(
      "fieldset",
      { class: "ws-choices ws-scale ws-criterion ws-turn" },
      h("legend", {}, `Assistant turn ${ordinal + 1}`),
      ...radios.map((input) => choiceRow(input, keyOfPoint(schema.turn_ratings, Number(input.value)), input.value, anchors[input.value])),
      flags.length ? h("div", { class: "ws-flags", role: "group", "aria-label": `Flags of turn ${ordinal + 1}` },
        ...flags.map((input, i) => choiceRow(input, keyOfFlag.get(schema.flags[i]!.name), schema.flags[i]!.name, schema.flags[i]!.description))) : null,
    );
    const shown = bubbles.get(index) ?? null;
    return { index, set, radios, flags, bubble: shown?.bubble ?? null, summary: shown?.summary ?? null };
  });
  const scale = schema.conversation_rating;
  if (scale) {
    const radios = scaleRows(scale, uid("ws-conversation"), (value) => context.change(rateConversation(context.current(), value)));
    const anchors = scale.anchors ?? {};
    const set = h(
      "fieldset",
      { class: "ws-choices ws-scale ws-criterion" },
      h("legend", {}, "The conversation as a whole"),
      ...radios.map((input) => choiceRow(input, keyOfPoint(scale, Number(input.value)), input.value, anchors[input.value])),
    );
    stops.push({ index: null, set, radios, flags: [], bubble: null, summary: null });
  }
  stops.forEach((stop, at) =>
    stop.set.addEventListener("focusin", () => {
      current = at;
      for (const other of stops) other.bubble?.classList.toggle("ws-msg-current", other === stop);
      stop.bubble?.scrollIntoView?.({ block: "nearest" });
    }),
  );

  const commentsId = uid("ws-comments");
  const comments = h("textarea", { id: commentsId, rows: 3, class: "ws-note" });
  comments.addEventListener("input", () => context.change({ ...context.current(), comments: comments.value }, "comments"));
  const answer = h(
    "div",
    {},
    ...stops.map((stop) => stop.set),
    schema.comments ? h("label", { for: commentsId }, "Comments (optional)") : null,
    schema.comments ? comments : null,
  );

  function focusStop(at: number): void {
    const stop = stops[at];
    if (stop) (stop.radios.find((r) => r.checked) ?? stop.radios[0])?.focus();
  }
  /** The stop that has the focus, else the one that had it last. */
  const focused = (): number => {
    const at = stops.findIndex((stop) => stop.set.contains(document.activeElement));
    return at >= 0 ? at : current;
  };

  return {
    content,
    answer,
    show(answerState: AnswerState) {
      const state = answerState as ChatState;
      for (const stop of stops) {
        const turn = stop.index === null ? null : state.turns[String(stop.index)];
        const rating = stop.index === null ? state.conversation : (turn?.rating ?? null);
        for (const radio of stop.radios) radio.checked = String(rating) === radio.value;
        for (const flag of stop.flags) flag.checked = turn?.flags.includes(flag.value) ?? false;
        // The bubble repeats the turn's answer in words, so the link to the panel is not colour alone.
        const said = [rating === null ? "not rated" : `rated ${rating}`, ...(turn?.flags ?? [])];
        if (stop.summary) stop.summary.textContent = ` · ${said.join(" · ")}`;
      }
      if (comments.value !== state.comments) comments.value = state.comments;
    },
    key(key: string) {
      const at = focused();
      const stop = stops[at];
      if (!stop) return false;
      const flag = byFlagKey.get(key);
      if (flag !== undefined) {
        if (stop.index === null) return false;
        context.change(toggleFlag(schema, context.current(), stop.index, flag));
        return true;
      }
      const value = scaleKeys(stop.index === null ? scale! : schema.turn_ratings).get(key);
      if (value === undefined) return false;
      const state = context.current();
      context.change(stop.index === null ? rateConversation(state, value) : rateTurn(state, stop.index, value));
      focusStop(at);
      return true;
    },
    nav(key: string, shift: boolean) {
      if (key !== "Tab") return false;
      const at = stops.findIndex((stop) => stop.set.contains(document.activeElement));
      if (at < 0) return false;
      const next = stepStop(stops.length, at, shift);
      if (next === null) return false; // past the last turn (or the conversation): the focus moves on
      focusStop(next);
      return true;
    },
    focus() {
      const state = context.current();
      const unrated = stops.findIndex((stop) =>
        stop.index === null ? state.conversation === null : (state.turns[String(stop.index)]?.rating ?? null) === null,
      );
      focusStop(unrated >= 0 ? unrated : 0);
    },
  };
}
