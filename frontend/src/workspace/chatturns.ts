// Chat review as plain data: the conversation read from the task, the assistant turns to rate,
// the flags' keys, the edits, a draft read back and the result (docs/work.md, "Result shapes").
// Turns are keyed by the message's index in the conversation, as the server keys them.

import type { Built, ChatSchema, ChatState, ChatTurn, Scale } from "./types";

export interface Message {
  role: string;
  content: string;
}

/** Keys for flags, in order: letters no other command or task type takes (not S, and not A, B,
 *  T, E or R, which pairwise and the review mode use), so a flag key means one thing. */
export const FLAG_KEYS = [..."fghjklxcvnmqwyuiopdz"];

/** The conversation as the task holds it; anything unexpected is shown as text, never lost. */
export function messagesOf(data: Record<string, unknown>): Message[] {
  const messages = data["messages"];
  if (!Array.isArray(messages)) return [];
  return messages.map((m: unknown) => {
    const item = (typeof m === "object" && m !== null ? m : {}) as Record<string, unknown>;
    const content = item["content"];
    return {
      role: typeof item["role"] === "string" ? item["role"] : "unknown",
      content: typeof content === "string" ? content : JSON.stringify(content ?? ""),
    };
  });
}

/** The indices of the assistant turns: the ones a result must rate. */
export function assistantTurns(messages: readonly Message[]): number[] {
  return messages.flatMap((message, index) => (message.role === "assistant" ? [index] : []));
}

/** Each flag's key: the first flags take FLAG_KEYS in order, the rest are clicked. */
export function flagKeys(schema: ChatSchema): Map<string, string> {
  return new Map(schema.flags.slice(0, FLAG_KEYS.length).map((flag, index) => [FLAG_KEYS[index]!, flag.name]));
}

export function emptyChat(): ChatState {
  return { turns: {}, conversation: null, comments: "" };
}

const turnOf = (state: ChatState, index: number): ChatTurn => state.turns[String(index)] ?? { rating: null, flags: [] };

export function rateTurn(state: ChatState, index: number, rating: number): ChatState {
  return { ...state, turns: { ...state.turns, [String(index)]: { ...turnOf(state, index), rating } } };
}

/** Flag a turn, or take the flag back; flags kept in the schema's order, as the server stores them. */
export function toggleFlag(schema: ChatSchema, state: ChatState, index: number, flag: string): ChatState {
  const turn = turnOf(state, index);
  const on = turn.flags.includes(flag) ? turn.flags.filter((f) => f !== flag) : [...turn.flags, flag];
  const flags = schema.flags.map((f) => f.name).filter((name) => on.includes(name));
  return { ...state, turns: { ...state.turns, [String(index)]: { ...turn, flags } } };
}

export function rateConversation(state: ChatState, rating: number): ChatState {
  return { ...state, conversation: rating };
}

/** The state a draft (or a result, which has the same shape less defaults) holds, or null. */
export function chatFromDraft(state: Record<string, unknown>): ChatState | null {
  const turns = state["turns"];
  if (typeof turns !== "object" || turns === null || Array.isArray(turns)) return null;
  const out: Record<string, ChatTurn> = {};
  for (const [key, value] of Object.entries(turns as Record<string, unknown>)) {
    if (!/^\d+$/.test(key) || typeof value !== "object" || value === null) return null;
    const turn = value as Record<string, unknown>;
    const rating = turn["rating"] ?? null;
    const flags = turn["flags"] ?? [];
    if (rating !== null && typeof rating !== "number") return null;
    if (!Array.isArray(flags) || !flags.every((f) => typeof f === "string")) return null;
    out[key] = { rating, flags: [...(flags as string[])] };
  }
  const conversation = typeof state["conversation"] === "number" ? state["conversation"] : null;
  const comments = typeof state["comments"] === "string" ? state["comments"] : "";
  return { turns: out, conversation, comments };
}

const inScale = (value: number | null, scale: Scale): value is number =>
  value !== null && Number.isInteger(value) && value >= scale.min && value <= scale.max;

/** The result: every assistant turn rated (in the conversation's order), the conversation if the
 *  schema rates it, comments if it takes them and some were written. */
export function chatResult(schema: ChatSchema, data: Record<string, unknown>, state: ChatState): Built {
  const turns: Record<string, Record<string, unknown>> = {};
  const assistant = assistantTurns(messagesOf(data));
  for (const [ordinal, index] of assistant.entries()) {
    const turn = turnOf(state, index);
    if (!inScale(turn.rating, schema.turn_ratings))
      return { ok: false, problem: `Rate assistant turn ${ordinal + 1}.` };
    turns[String(index)] = turn.flags.length ? { rating: turn.rating, flags: [...turn.flags] } : { rating: turn.rating };
  }
  const result: Record<string, unknown> = { turns };
  if (schema.conversation_rating) {
    if (!inScale(state.conversation, schema.conversation_rating))
      return { ok: false, problem: "Rate the conversation as a whole." };
    result["conversation"] = state.conversation;
  }
  if (schema.comments && state.comments.trim()) result["comments"] = state.comments;
  return { ok: true, result };
}

/** The stop Tab (or Shift+Tab) moves to from `current` among `count` stops; null past either end. */
export function stepStop(count: number, current: number, back: boolean): number | null {
  const next = current + (back ? -1 : 1);
  return next >= 0 && next < count ? next : null;
}
