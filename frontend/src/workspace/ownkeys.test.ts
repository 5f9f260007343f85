import type { KeyInput } from "./keys";
import { ownCommandFor, ownShortcuts } from "./ownkeys";

const key = (value: string, extra: Partial<KeyInput> = {}): KeyInput => ({
  key: value,
  ctrl: false,
  meta: false,
  shift: false,
  alt: false,
  typing: false,
  ...extra,
});

describe("the own answer's keyboard map", () => {
  it("makes E revise and R reply while reading, and the answer's keys do nothing", () => {
    expect(ownCommandFor(key("e"), "read")).toEqual({ kind: "revise" });
    expect(ownCommandFor(key("R", { shift: true }), "read")).toEqual({ kind: "reply" });
    for (const answerKey of ["a", "1", "s", "t"]) expect(ownCommandFor(key(answerKey), "read")).toBeNull();
    expect(ownCommandFor(key("z", { ctrl: true }), "read")).toBeNull();
    expect(ownCommandFor(key("Tab"), "read")).toBeNull(); // the browser moves the focus
  });

  it("sends with Ctrl+Enter while typing the reply, and never acts on the reply's letters", () => {
    expect(ownCommandFor(key("Enter", { ctrl: true, typing: true }), "read")).toEqual({ kind: "send" });
    for (const letter of ["e", "r", "?"]) expect(ownCommandFor(key(letter, { typing: true }), "read")).toBeNull();
    expect(ownCommandFor(key("Escape", { typing: true }), "read")).toEqual({ kind: "escape" });
  });

  it("passes every key to the answer while revising, with undo and the navigation keys", () => {
    expect(ownCommandFor(key("e"), "revise")).toEqual({ kind: "key", key: "e" });
    expect(ownCommandFor(key("r"), "revise")).toEqual({ kind: "key", key: "r" });
    expect(ownCommandFor(key("Enter", { meta: true }), "revise")).toEqual({ kind: "send" });
    expect(ownCommandFor(key("z", { ctrl: true }), "revise")).toEqual({ kind: "undo" });
    expect(ownCommandFor(key("Z", { ctrl: true, shift: true }), "revise")).toEqual({ kind: "redo" });
    expect(ownCommandFor(key("ArrowLeft", { shift: true }), "revise")).toEqual({ kind: "nav", key: "ArrowLeft", shift: true });
  });

  it("does nothing while waiting, and only closes the help while it is open", () => {
    expect(ownCommandFor(key("e"), "idle")).toBeNull();
    expect(ownCommandFor(key("Enter", { ctrl: true }), "idle")).toBeNull();
    expect(ownCommandFor(key("Enter", { ctrl: true }), "help")).toBeNull();
    expect(ownCommandFor(key("?"), "help")).toEqual({ kind: "help" });
    expect(ownCommandFor(key("Escape"), "help")).toEqual({ kind: "escape" });
  });

  it("lists revising and replying first, then the answer's keys after E", () => {
    const list = ownShortcuts("classification", { labels: [{ name: "Spam", hotkey: "x" }] });
    expect(list[0]![0]).toBe("E");
    expect(list[1]![0]).toBe("R");
    expect(list).toContainEqual(["X", "Choose “Spam” (after E)"]);
  });
});
