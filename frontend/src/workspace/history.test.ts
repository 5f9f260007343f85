import { COALESCE_MS, History, MAX_STEPS } from "./history";

describe("undo and redo", () => {
  it("walks back and forth, and a new change drops the redo branch", () => {
    const history = new History(0);
    history.push(1);
    history.push(2);
    expect(history.undo()).toBe(1);
    expect(history.undo()).toBe(0);
    expect(history.undo()).toBeNull();
    expect(history.redo()).toBe(1);
    history.push(5);
    expect(history.canRedo).toBe(false);
    expect(history.redo()).toBeNull();
    expect(history.state).toBe(5);
  });

  it("merges a run of typing in one field into one step", () => {
    const history = new History("");
    history.push("a", "text", 0);
    history.push("ab", "text", 100);
    history.push("abc", "text", 200 + COALESCE_MS); // a pause: a new step
    history.push("abc!", "rationale", 300 + COALESCE_MS); // another field: a new step
    expect(history.undo()).toBe("abc");
    expect(history.undo()).toBe("ab");
    expect(history.undo()).toBe("");
  });

  it("keeps a bounded number of steps", () => {
    const history = new History(0);
    for (let i = 1; i <= MAX_STEPS + 50; i++) history.push(i);
    let steps = 0;
    while (history.undo() !== null) steps++;
    expect(steps).toBe(MAX_STEPS);
  });
});
