import {
  HEADER_BYTES,
  HeaderError,
  IGNORE,
  buildMapping,
  defaultTarget,
  errorMessage,
  formatBytes,
  formatEta,
  formatOf,
  formatSeconds,
  headerProblems,
  importQuery,
  mappingProblems,
  parseHeader,
  percent,
  problemTable,
  readHeader,
  targetChoices,
  uploadText,
} from "./imports";

const FIELDS = ["text", "external_id", "priority", "metadata", "prediction", "gold"];

describe("parseHeader", () => {
  it("splits the first line and trims names as the server does", () => {
    expect(parseHeader("text, external_id ,source\nhello,1,web\n", ",", true)).toEqual([
      "text",
      "external_id",
      "source",
    ]);
  });

  it("drops a UTF-8 byte order mark", () => {
    expect(parseHeader("\ufefftext,id\r\nx,1", ",", true)).toEqual(["text", "id"]);
  });

  it("reads quoted cells holding the delimiter, doubled quotes and line breaks", () => {
    const text = '"a, b","say ""hi""","two\nlines",plain\nrow';
    expect(parseHeader(text, ",", true)).toEqual(["a, b", 'say "hi"', "two\nlines", "plain"]);
  });

  it("takes a quote inside an unquoted cell literally, like Python's csv", () => {
    expect(parseHeader('a"b,c\n', ",", true)).toEqual(['a"b', "c"]);
  });

  it("splits TSV on tabs only", () => {
    const header = parseHeader("text\tnote, with comma\n", "\t", true);
    expect(header).toEqual(["text", "note, with comma"]);
  });

  it("accepts a whole file that is only a header without a line break", () => {
    expect(parseHeader("text,priority", ",", true)).toEqual(["text", "priority"]);
  });

  it("refuses a header that does not end within the bytes read", () => {
    expect(() => parseHeader("text,priority", ",", false)).toThrow(HeaderError);
    expect(() => parseHeader('"never closed\n', ",", true)).toThrow(/never closed/);
    expect(() => parseHeader("", ",", true)).toThrow(/empty/);
  });
});

describe("readHeader", () => {
  it("reads only the first 64 KiB of a large file", async () => {
    const rows = "x,1\n".repeat(50_000);
    const file = new Blob(["\ufefftext,priority\n", rows]);
    expect(file.size).toBeGreaterThan(HEADER_BYTES);
    await expect(readHeader(file, ",")).resolves.toEqual(["text", "priority"]);
  });

  it("reads UTF-8 names, with a byte order mark as bytes", async () => {
    const name = new TextEncoder().encode("texte,caf\u00e9\n");
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...name]);
    await expect(readHeader(new Blob([bytes]), ",")).resolves.toEqual(["texte", "caf\u00e9"]);
  });

  it("says so when the first line is longer than what is read", async () => {
    const file = new Blob(["a".repeat(HEADER_BYTES + 10)]);
    await expect(readHeader(file, ",")).rejects.toThrow(/longer than 64 KiB/);
  });
});

describe("headerProblems", () => {
  it("names empty and repeated columns by position", () => {
    expect(headerProblems(["text", "", "text"])).toEqual([
      "Column 2 of the header has no name.",
      "Columns 1 and 3 have the same name.",
    ]);
    expect(headerProblems(["text", "source"])).toEqual([]);
  });
});

describe("column mapping", () => {
  it("defaults a column to the field of its name, else to metadata", () => {
    expect(defaultTarget("text", FIELDS)).toBe("text");
    expect(defaultTarget("priority", FIELDS)).toBe("priority");
    expect(defaultTarget("metadata", FIELDS)).toBe("metadata");
    expect(defaultTarget("source", FIELDS)).toBe("metadata.source");
    expect(defaultTarget("Text", FIELDS)).toBe("metadata.Text");
  });

  it("offers every field, the column's metadata key and ignoring it", () => {
    const values = targetChoices("review", FIELDS).map(([value]) => value);
    expect(values).toEqual([...FIELDS, "metadata.review", IGNORE]);
    expect(targetChoices("review", FIELDS).at(-1)).toEqual([IGNORE, "ignore"]);
  });

  it("names every column, ignored ones as null", () => {
    expect(buildMapping(["review", "id", "junk"], ["text", "external_id", IGNORE])).toEqual({
      review: "text",
      id: "external_id",
      junk: null,
    });
  });

  it("finds two columns going to one field, and metadata mixed with metadata keys", () => {
    expect(mappingProblems({ a: "text", b: "text", c: null, d: null })).toEqual([
      "Columns “a” and “b” both go to text.",
    ]);
    expect(mappingProblems({ m: "metadata", s: "metadata.source" })).toHaveLength(1);
    expect(mappingProblems({ a: "text", s: "metadata.source" })).toEqual([]);
  });

  it("sends the mapping as JSON in the query", () => {
    const query = new URLSearchParams(importQuery("a b.csv", "reject", { x: "text", y: null }));
    expect(query.get("file_name")).toBe("a b.csv");
    expect(query.get("on_duplicate")).toBe("reject");
    expect(JSON.parse(query.get("mapping")!)).toEqual({ x: "text", y: null });
    expect(new URLSearchParams(importQuery("t.jsonl", "skip", null)).has("mapping")).toBe(false);
  });
});

describe("formatOf", () => {
  it("reads the format and compression from the name", () => {
    expect(formatOf("tasks.CSV")).toEqual({ kind: "csv", gzip: false });
    expect(formatOf("tasks.tsv.gz")).toEqual({ kind: "tsv", gzip: true });
    expect(formatOf("tasks.ndjson")).toEqual({ kind: "jsonl", gzip: false });
    expect(formatOf("images.zip")).toEqual({ kind: "zip", gzip: false });
  });

  it("refuses what the server refuses", () => {
    expect(formatOf("tasks.xlsx")).toBeNull();
    expect(formatOf("images.zip.gz")).toBeNull();
    expect(formatOf("csv")).toBeNull();
    expect(formatOf(".csv")).toBeNull();
  });
});

describe("numbers", () => {
  it("says sizes, percentages, durations and errors briefly", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1_500_000)).toBe("1.50 MB");
    expect(formatBytes(2_345_000_000)).toBe("2.35 GB");
    expect(percent(1, 3)).toBe(33.3);
    expect(percent(5, 0)).toBe(0);
    expect(uploadText(500_000, 1_000_000)).toBe("500 kB of 1.00 MB sent (50 %)");
    expect(formatSeconds(7)).toBe("7 s");
    expect(formatSeconds(185)).toBe("3 min 05 s");
    expect(formatSeconds(7440)).toBe("2 h 04 min");
    expect(formatEta(null)).toBe("—");
  });

  it("shows the API's error message, else one made from the status", () => {
    const body = JSON.stringify({ error: { code: "upload_too_large", message: "Too big." } });
    expect(errorMessage(413, body)).toBe("Too big.");
    expect(errorMessage(413, "<html>")).toBe("The file is larger than the server accepts.");
    expect(errorMessage(0, "")).toMatch(/connection/);
    expect(errorMessage(502, "")).toBe("The server answered 502; try again.");
  });
});

describe("problemTable", () => {
  it("lists problems as text and says how many more there are", () => {
    const table = problemTable({
      problems: [
        { where: "line 3", code: "missing_field", field: "text", message: "<b>missing</b>" },
      ],
      problem_count: 1201,
    });
    const cells = Array.from(table.querySelectorAll("tbody td"), (cell) => cell.textContent);
    expect(cells).toEqual(["line 3", "text", "<b>missing</b>", "missing_field"]);
    expect(table.querySelector("b")).toBeNull();
    expect(table.textContent).toContain("…and 1,200 more.");
  });
});
