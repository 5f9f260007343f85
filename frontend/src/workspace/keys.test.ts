import { commandFor, isTextField, reasonKeys, shortcuts, type KeyInput } from "./keys";

const key = (value: string, extra: Partial<KeyInput> = {}): KeyInput => ({
  key: value,
  ctrl: false,
  meta: false,
  shift: false,
  alt: false,
  typing: false,
  ...extra,
});

describe("the keyboard map", () => {
  it("submits, undoes and redoes with Ctrl (or Cmd), even while typing", () => {
    expect(commandFor(key("Enter", { ctrl: true, typing: true }), "work")).toEqual({ kind: "submit" });
    expect(commandFor(key("z", { ctrl: true }), "work")).toEqual({ kind: "undo" });
    expect(commandFor(key("Z", { ctrl: true, shift: true }), "work")).toEqual({ kind: "redo" });
    expect(commandFor(key("z", { meta: true, shift: true }), "work")).toEqual({ kind: "redo" });
    expect(commandFor(key("y", { ctrl: true }), "work")).toEqual({ kind: "redo" });
    expect(commandFor(key("c", { ctrl: true }), "work")).toBeNull();
    expect(commandFor(key("Enter", { ctrl: true }), "help")).toBeNull();
  });

  it("never fires single-letter keys while typing in a text field", () => {
    for (const letter of ["s", "?", "1", "a"]) expect(commandFor(key(letter, { typing: true }), "work")).toBeNull();
    expect(commandFor(key("Escape", { typing: true }), "skip")).toEqual({ kind: "escape" });
  });

  it("skips with S, shows help with ?, passes other keys to the view", () => {
    expect(commandFor(key("s"), "work")).toEqual({ kind: "skip" });
    expect(commandFor(key("S", { shift: true }), "work")).toEqual({ kind: "skip" });
    expect(commandFor(key("?", { shift: true }), "work")).toEqual({ kind: "help" });
    expect(commandFor(key("?"), "help")).toEqual({ kind: "help" });
    expect(commandFor(key("A", { shift: true }), "work")).toEqual({ kind: "key", key: "a" });
    expect(commandFor(key("3"), "work")).toEqual({ kind: "key", key: "3" });
    // Up and down move a selected box; a view without boxes leaves them to the browser.
    expect(commandFor(key("ArrowDown", { shift: true }), "work")).toEqual({ kind: "nav", key: "ArrowDown", shift: true });
    expect(commandFor(key("PageDown"), "work")).toBeNull();
    // Enter goes to the view (NER: relations), which leaves it to the browser if it has no use for it.
    expect(commandFor(key("Enter"), "work")).toEqual({ kind: "nav", key: "Enter", shift: false });
    expect(commandFor(key("Enter", { typing: true }), "work")).toBeNull();
    expect(commandFor(key("x", { alt: true }), "work")).toBeNull();
  });

  it("answers the skip question with keys and does nothing while idle", () => {
    expect(commandFor(key("2"), "skip")).toEqual({ kind: "key", key: "2" });
    expect(commandFor(key("s"), "skip")).toEqual({ kind: "key", key: "s" });
    expect(commandFor(key("1"), "idle")).toBeNull();
    expect(commandFor(key("?"), "idle")).toEqual({ kind: "help" });
  });

  it("gives each skip reason a number", () => {
    const keys = reasonKeys([{ value: "unclear" }, { value: "expertise" }, { value: "other" }]);
    expect([...keys]).toEqual([
      ["1", "unclear"],
      ["2", "expertise"],
      ["3", "other"],
    ]);
  });

  it("tells text fields from other controls", () => {
    const text = document.createElement("input");
    const radio = document.createElement("input");
    radio.type = "radio";
    expect(isTextField(text)).toBe(true);
    expect(isTextField(document.createElement("textarea"))).toBe(true);
    expect(isTextField(radio)).toBe(false);
    expect(isTextField(document.createElement("button"))).toBe(false);
    expect(isTextField(null)).toBe(false);
  });
});

describe("the help list", () => {
  it("lists the type's own keys first, then the common ones", () => {
    const list = shortcuts("classification", { labels: [{ name: "Yes", hotkey: "y" }, { name: "No", hotkey: "n" }] });
    expect(list.slice(0, 2)).toEqual([
      ["Y", "Choose “Yes”"],
      ["N", "Choose “No”"],
    ]);
    expect(list.map(([keys]) => keys)).toContain("Ctrl+Enter");
    const pairwise = shortcuts("pairwise", { strength: { min: 1, max: 5 } }).map(([keys]) => keys);
    expect(pairwise.slice(0, 4)).toEqual(["A", "B", "T", "1–5"]);
    const rubric = shortcuts("rubric", { criteria: [{ name: "C", scale: { min: -2, max: 2 } }] });
    expect(rubric[0]).toEqual(["1–5", "Rate the focused criterion -2 to 2"]);
  });
});
