import { buildResult, draftOf, emptyState, stateFromDraft, stateFromResult } from "./answer";
import {
  assistantTurns,
  chatResult,
  emptyChat,
  flagKeys,
  messagesOf,
  rateConversation,
  rateTurn,
  stepStop,
  toggleFlag,
} from "./chatturns";
import { shortcuts } from "./keys";
import type { ChatSchema } from "./types";

const SCHEMA: ChatSchema = {
  turn_ratings: { min: 1, max: 5 },
  conversation_rating: { min: 1, max: 3 },
  flags: [{ name: "Unsafe" }, { name: "Wrong facts" }],
  comments: true,
};
const DATA = {
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello!" },
    { role: "user", content: "<b>2+2?</b>" },
    { role: "assistant", content: "4" },
  ],
};

describe("the conversation", () => {
  it("reads the messages and finds the assistant turns by their index", () => {
    const messages = messagesOf(DATA);
    expect(messages[3]).toEqual({ role: "user", content: "<b>2+2?</b>" });
    expect(assistantTurns(messages)).toEqual([2, 4]);
  });

  it("shows unexpected content as text and survives a missing conversation", () => {
    expect(messagesOf({ messages: [{ role: "assistant", content: { a: 1 } }, 7] })).toEqual([
      { role: "assistant", content: '{"a":1}' },
      { role: "unknown", content: '""' },
    ]);
    expect(messagesOf({})).toEqual([]);
  });
});

describe("flags and their keys", () => {
  it("gives flags letters no other command uses", () => {
    expect([...flagKeys(SCHEMA)]).toEqual([
      ["f", "Unsafe"],
      ["g", "Wrong facts"],
    ]);
    const many: ChatSchema = { ...SCHEMA, flags: Array.from({ length: 30 }, (_, i) => ({ name: `F${i}` })) };
    const keys = [...flagKeys(many).keys()];
    expect(keys).toHaveLength(20);
    for (const taken of ["s", "a", "b", "t", "e", "r", "?"]) expect(keys).not.toContain(taken);
  });

  it("toggles a flag on a turn, kept in the schema's order, before or after its rating", () => {
    let state = toggleFlag(SCHEMA, emptyChat(), 2, "Wrong facts");
    expect(state.turns["2"]).toEqual({ rating: null, flags: ["Wrong facts"] });
    state = toggleFlag(SCHEMA, rateTurn(state, 2, 4), 2, "Unsafe");
    expect(state.turns["2"]).toEqual({ rating: 4, flags: ["Unsafe", "Wrong facts"] });
    expect(toggleFlag(SCHEMA, state, 2, "Unsafe").turns["2"]!.flags).toEqual(["Wrong facts"]);
  });
});

describe("the result", () => {
  it("asks for every assistant turn and the conversation", () => {
    expect(chatResult(SCHEMA, DATA, emptyChat())).toEqual({ ok: false, problem: "Rate assistant turn 1." });
    const two = rateTurn(emptyChat(), 2, 3);
    expect(chatResult(SCHEMA, DATA, two)).toEqual({ ok: false, problem: "Rate assistant turn 2." });
    expect(chatResult(SCHEMA, DATA, rateTurn(two, 4, 5))).toEqual({ ok: false, problem: "Rate the conversation as a whole." });
  });

  it("builds the server's shape: flags only where set, comments only when written", () => {
    let state = rateConversation(rateTurn(rateTurn(emptyChat(), 4, 2), 2, 4), 3);
    state = toggleFlag(SCHEMA, state, 4, "Unsafe");
    expect(buildResult("chat", SCHEMA, state, DATA)).toEqual({
      ok: true,
      result: { turns: { "2": { rating: 4 }, "4": { rating: 2, flags: ["Unsafe"] } }, conversation: 3 },
    });
    const noted = { ...state, comments: "Turn 2 is rude." };
    expect(chatResult(SCHEMA, DATA, noted)).toMatchObject({ ok: true, result: { comments: "Turn 2 is rude." } });
    expect(chatResult({ ...SCHEMA, comments: false }, DATA, noted)).toMatchObject({ ok: true, result: { conversation: 3 } });
    expect((chatResult({ ...SCHEMA, comments: false }, DATA, noted) as { result: object }).result).not.toHaveProperty("comments");
  });

  it("leaves the conversation out when the schema does not rate it, and refuses ratings off the scale", () => {
    const { conversation_rating: _, ...perTurn } = SCHEMA;
    const state = rateTurn(rateTurn(emptyChat(), 2, 1), 4, 5);
    expect(chatResult(perTurn, DATA, rateConversation(state, 2))).toEqual({
      ok: true,
      result: { turns: { "2": { rating: 1 }, "4": { rating: 5 } } },
    });
    expect(chatResult(perTurn, DATA, rateTurn(state, 4, 9))).toMatchObject({ ok: false });
  });
});

describe("drafts and submitted results", () => {
  it("reads back its own draft and refuses a malformed one", () => {
    const state = toggleFlag(SCHEMA, rateTurn(emptyChat(), 2, 4), 4, "Unsafe");
    expect(stateFromDraft("chat", draftOf(state))).toEqual(state);
    expect(stateFromDraft("chat", draftOf({ turns: { x: { rating: 1 } } } as never))).toBeNull();
    expect(stateFromDraft("chat", draftOf({ turns: { "2": { rating: "4" } } } as never))).toBeNull();
    expect(emptyState("chat", DATA, SCHEMA)).toEqual(emptyChat());
  });

  it("shows a submitted result (flags absent where none were set) for review", () => {
    const result = { turns: { "2": { rating: 4 }, "4": { rating: 2, flags: ["Unsafe"] } }, conversation: 3 };
    expect(stateFromResult("chat", DATA, SCHEMA, result)).toEqual({
      turns: { "2": { rating: 4, flags: [] }, "4": { rating: 2, flags: ["Unsafe"] } },
      conversation: 3,
      comments: "",
    });
  });
});

describe("keys", () => {
  it("steps between stops and stops at either end", () => {
    expect(stepStop(3, 0, false)).toBe(1);
    expect(stepStop(3, 2, false)).toBeNull();
    expect(stepStop(3, 0, true)).toBeNull();
  });

  it("lists the rating, flag and conversation keys in the help", () => {
    const listed = shortcuts("chat", SCHEMA).map(([keys]) => keys);
    expect(listed.slice(0, 5)).toEqual(["1–5", "F", "G", "1–3", "Tab / Shift+Tab"]);
  });
});
