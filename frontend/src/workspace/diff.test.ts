import { diffSummary, lineDiff, MAX_DIFF_LINES, splitLines } from "./diff";

describe("the line diff", () => {
  it("marks removed and added lines around the common ones", () => {
    const lines = lineDiff("one\ntwo\nthree", "one\n2\nthree\nfour");
    expect(lines).toEqual([
      { kind: "same", text: "one" },
      { kind: "removed", text: "two" },
      { kind: "added", text: "2" },
      { kind: "same", text: "three" },
      { kind: "added", text: "four" },
    ]);
    expect(diffSummary(lines!)).toBe("2 line(s) added, 1 removed.");
  });

  it("handles empty sides, line endings and no change", () => {
    expect(lineDiff("", "new")).toEqual([{ kind: "added", text: "new" }]);
    expect(lineDiff("old", "")).toEqual([{ kind: "removed", text: "old" }]);
    expect(splitLines("a\r\nb\rc")).toEqual(["a", "b", "c"]);
    expect(diffSummary(lineDiff("same\ntext", "same\ntext")!)).toBe("No change from the original.");
  });

  it("gives up on texts too long to compare", () => {
    const long = Array.from({ length: MAX_DIFF_LINES + 1 }, (_, i) => `${i}`).join("\n");
    expect(lineDiff(long, "x")).toBeNull();
  });
});
