// The Imports page: choose or drop a file, map a CSV's columns to fields, upload the file with
// a progress bar, then follow the import's job until it ends. Also follows the imports still
// running in the list and on an import's own page. A module script: the pages have no inline
// script. Everything from the server or the file is shown as text (textContent), never as HTML.

/** How much of a CSV/TSV file is read to find its header line. */
export const HEADER_BYTES = 64 * 1024;
const POLL_MS = 500;
const RETRY_MS = 2000;
/** The value of the "ignore" choice in a column's select; sent as null. */
export const IGNORE = "";
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

// --- Files and headers ------------------------------------------------------------------------

export interface FileFormat {
  kind: "json" | "jsonl" | "csv" | "tsv" | "zip";
  gzip: boolean;
}

/** The format an upload's name says, as the server reads it; null for one it does not accept. */
export function formatOf(name: string): FileFormat | null {
  let lower = name.trim().toLowerCase();
  const gzip = lower.endsWith(".gz");
  if (gzip) lower = lower.slice(0, -3);
  const dot = lower.lastIndexOf(".");
  if (dot <= 0) return null;
  const extension = lower.slice(dot + 1);
  switch (extension) {
    case "json":
    case "csv":
    case "tsv":
      return { kind: extension, gzip };
    case "jsonl":
    case "ndjson":
      return { kind: "jsonl", gzip };
    case "zip":
      return gzip ? null : { kind: "zip", gzip: false };
    default:
      return null;
  }
}

export class HeaderError extends Error {}

/**
 * The cells of the first record of a CSV or TSV text, as Python's csv module reads them with
 * the excel dialects: a cell that starts with a quote may hold the delimiter, line breaks and
 * doubled quotes. Names are trimmed as the server trims them. `complete` says whether `text` is
 * the whole file (otherwise a header that never ends within it is an error).
 */
export function parseHeader(text: string, delimiter: string, complete: boolean): string[] {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  let atCellStart = true;
  for (let i = 0; i < source.length; i++) {
    const char = source[i]!;
    if (quoted) {
      if (char !== '"') cell += char;
      else if (source[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (char === '"' && atCellStart) {
      quoted = true;
      atCellStart = false;
    } else if (char === delimiter) {
      cells.push(cell);
      cell = "";
      atCellStart = true;
    } else if (char === "\n" || char === "\r") {
      cells.push(cell);
      return cells.map((name) => name.trim());
    } else {
      cell += char;
      atCellStart = false;
    }
  }
  if (quoted) throw new HeaderError("The header line has a quote that is never closed.");
  if (!complete) {
    throw new HeaderError(
      `The header line is longer than ${HEADER_BYTES / 1024} KiB; is this really a CSV file?`,
    );
  }
  if (!source.trim()) throw new HeaderError("The file is empty.");
  cells.push(cell);
  return cells.map((name) => name.trim());
}

/** The header of a CSV/TSV file, from its first 64 KiB only (the file may be gigabytes). */
export async function readHeader(file: Blob, delimiter: string): Promise<string[]> {
  const head = await file.slice(0, HEADER_BYTES).arrayBuffer();
  // A cut through a multi-byte character at the end is harmless: the header ends before it.
  const text = new TextDecoder("utf-8").decode(head);
  return parseHeader(text, delimiter, file.size <= HEADER_BYTES);
}

/** Problems the server would reject a header for, said before the upload starts. */
export function headerProblems(columns: readonly string[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  columns.forEach((name, index) => {
    if (!name) problems.push(`Column ${index + 1} of the header has no name.`);
    else if (seen.has(name))
      problems.push(`Columns ${seen.get(name)! + 1} and ${index + 1} have the same name.`);
    else seen.set(name, index);
  });
  return problems;
}

// --- Column mapping ---------------------------------------------------------------------------

/** Where a column goes unless the person says otherwise: the field of its name, else metadata. */
export function defaultTarget(column: string, fields: readonly string[]): string {
  return fields.includes(column) ? column : `metadata.${column}`;
}

/** The choices of a column's select: [value, label] pairs. */
export function targetChoices(column: string, fields: readonly string[]): [string, string][] {
  return [
    ...fields.map((field): [string, string] => [field, field]),
    [`metadata.${column}`, `metadata.${column}`],
    [IGNORE, "ignore"],
  ];
}

export type Mapping = Record<string, string | null>;

/** The `mapping` parameter: every column named, ignored ones as null. */
export function buildMapping(columns: readonly string[], targets: readonly string[]): Mapping {
  const mapping: Mapping = {};
  columns.forEach((column, index) => {
    const target = targets[index] ?? IGNORE;
    mapping[column] = target === IGNORE ? null : target;
  });
  return mapping;
}

/** What the server would refuse in a mapping: two columns into one place. */
export function mappingProblems(mapping: Mapping): string[] {
  const byTarget = new Map<string, string[]>();
  for (const [column, target] of Object.entries(mapping)) {
    if (target === null) continue;
    byTarget.set(target, [...(byTarget.get(target) ?? []), column]);
  }
  const problems: string[] = [];
  for (const [target, columns] of byTarget) {
    if (columns.length > 1) {
      problems.push(`Columns ${columns.map((c) => `“${c}”`).join(" and ")} both go to ${target}.`);
    }
  }
  const targets = [...byTarget.keys()];
  if (targets.includes("metadata") && targets.some((t) => t.startsWith("metadata."))) {
    problems.push("A column going to metadata cannot be combined with metadata.<key> columns.");
  }
  return problems;
}

// --- Numbers ----------------------------------------------------------------------------------

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = value < 10 ? 2 : value < 100 ? 1 : 0;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

export function formatSeconds(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
  const minutes = Math.floor((whole % 3600) / 60);
  return `${Math.floor(whole / 3600)} h ${String(minutes).padStart(2, "0")} min`;
}

export function formatRate(rowsPerSecond: number | null): string {
  return rowsPerSecond === null ? "—" : `${formatCount(rowsPerSecond)} rows/s`;
}

export function formatEta(seconds: number | null): string {
  return seconds === null ? "—" : formatSeconds(seconds);
}

export function percent(done: number, total: number): number {
  return total > 0 ? Math.min(100, Math.floor((done / total) * 1000) / 10) : 0;
}

export function uploadText(loaded: number, total: number): string {
  return `${formatBytes(loaded)} of ${formatBytes(total)} sent (${percent(loaded, total)} %)`;
}

/** The message of an API error body ({"error": {"message"}}), or one made from the status. */
export function errorMessage(status: number, body: string): string {
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === "string" && message) return message;
  } catch {
    // not JSON: a proxy's page, say
  }
  if (status === 413) return "The file is larger than the server accepts.";
  if (status === 0) return "The connection to the server was lost.";
  return `The server answered ${status}; try again.`;
}

// --- The API ----------------------------------------------------------------------------------

export interface Problem {
  where: string;
  code: string;
  field?: string;
  message: string;
}

export interface ImportData {
  id: string;
  number: number;
  state: string;
  file_name: string;
  upload_bytes: number;
  bytes_read: number;
  progress: number;
  rows_read: number;
  tasks_created: number;
  duplicates_skipped: number;
  rows_per_second: number | null;
  eta_seconds: number | null;
  problem_count: number;
  problems: Problem[];
  error_message: string;
  cancel_requested: boolean;
  finished_at: string | null;
}

interface Answer {
  status: number;
  body: string;
}

async function request(url: string, method: string, csrf: string): Promise<Answer> {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: "application/json", "X-CSRFToken": csrf },
  });
  return { status: response.status, body: await response.text() };
}

/** POST the file as the raw body; reports the bytes sent as they go. */
export function uploadFile(
  url: string,
  file: Blob,
  csrf: string,
  onProgress: (loaded: number, total: number) => void,
): Promise<Answer> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.upload.addEventListener("progress", (event) =>
      onProgress(event.loaded, event.lengthComputable ? event.total : file.size),
    );
    xhr.addEventListener("load", () => resolve({ status: xhr.status, body: xhr.responseText }));
    xhr.addEventListener("error", () => resolve({ status: 0, body: "" }));
    xhr.send(file);
  });
}

export function importQuery(
  fileName: string,
  onDuplicate: string,
  mapping: Mapping | null,
): string {
  const query = new URLSearchParams({ file_name: fileName, on_duplicate: onDuplicate });
  if (mapping) query.set("mapping", JSON.stringify(mapping));
  return query.toString();
}

const sleep = (ms: number): Promise<void> => new Promise((done) => window.setTimeout(done, ms));

interface ImportView {
  show(imp: ImportData): void;
  notice(message: string): void;
  /** False once the view left the page (a refreshed list): following it stops. */
  alive(): boolean;
}

/** Read the import every half second until it ends; returns it as it ended, or null. */
async function follow(url: string, view: ImportView, csrf: string): Promise<ImportData | null> {
  for (;;) {
    let answer: Answer;
    try {
      answer = await request(url, "GET", csrf);
    } catch {
      view.notice("The connection to the server was lost; trying again…");
      await sleep(RETRY_MS);
      continue;
    }
    if (answer.status !== 200) {
      view.notice(errorMessage(answer.status, answer.body));
      return null;
    }
    const imp = JSON.parse(answer.body) as ImportData;
    if (!view.alive()) return null;
    view.show(imp);
    if (FINISHED.has(imp.state)) return imp;
    await sleep(POLL_MS);
  }
}

// --- Showing an import ------------------------------------------------------------------------

function element<T extends HTMLElement = HTMLElement>(root: ParentNode, selector: string): T {
  const found = root.querySelector<T>(selector);
  if (!found) throw new Error(`imports.ts: the page has no ${selector}`);
  return found;
}

function make(tag: string, text = "", className = ""): HTMLElement {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
}

function link(href: string, text: string): HTMLAnchorElement {
  const anchor = document.createElement("a");
  anchor.href = href;
  anchor.textContent = text;
  return anchor;
}

const BADGES: Record<string, string> = { succeeded: "ok", failed: "danger", cancelled: "warn" };

function stateLabel(state: string): string {
  return state.charAt(0).toUpperCase() + state.slice(1);
}

/** The problem list of a failed import: a table, then "and N more" if not all are listed. */
export function problemTable(imp: Pick<ImportData, "problems" | "problem_count">): HTMLElement {
  const wrapper = make("div");
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const title of ["Where", "Field", "Problem", "Code"]) {
    const cell = make("th", title);
    cell.setAttribute("scope", "col");
    head.append(cell);
  }
  const body = table.createTBody();
  for (const problem of imp.problems) {
    const row = body.insertRow();
    row.append(
      make("td", problem.where, "nowrap"),
      make("td", problem.field ?? ""),
      make("td", problem.message),
      make("td", problem.code, "mono"),
    );
  }
  wrapper.append(table);
  const unlisted = imp.problem_count - imp.problems.length;
  if (unlisted > 0) {
    wrapper.append(make("p", `…and ${formatCount(unlisted)} more.`, "help"));
  }
  return wrapper;
}

export interface Links {
  apiImports: string;
  importsPage: string;
  tasksPage: string;
}

/** A job progress block (datasets/_job.html): bar, counters, Cancel, and the outcome. */
class JobView implements ImportView {
  private readonly bar: HTMLProgressElement;
  private readonly text: HTMLElement;
  private readonly cancel: HTMLButtonElement;
  private readonly result: HTMLElement;
  private cancelBound = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly links: Links,
    private readonly csrf: string,
  ) {
    this.bar = element<HTMLProgressElement>(root, "[data-job=bar]");
    this.text = element(root, "[data-job=text]");
    this.cancel = element<HTMLButtonElement>(root, "[data-job=cancel]");
    this.result = element(root, "[data-job=result]");
  }

  show(imp: ImportData): void {
    this.root.hidden = false;
    this.showBar(imp);
    for (const cell of this.root.querySelectorAll<HTMLElement>("[data-stat]")) {
      cell.textContent = this.stat(imp, cell.dataset.stat ?? "");
    }
    const finished = FINISHED.has(imp.state);
    this.cancel.hidden = finished;
    this.cancel.disabled = imp.cancel_requested;
    if (!this.cancelBound) this.bindCancel(imp);
    if (finished) this.showResult(imp);
  }

  notice(message: string): void {
    this.text.textContent = message;
  }

  alive(): boolean {
    return this.root.isConnected;
  }

  private showBar(imp: ImportData): void {
    if (imp.state === "queued") {
      this.bar.removeAttribute("value");
      this.text.textContent = "Waiting for a worker to start the import…";
      return;
    }
    const shown = percent(imp.progress, 1);
    this.bar.value = shown;
    if (FINISHED.has(imp.state)) {
      this.text.textContent = stateLabel(imp.state);
      return;
    }
    const label = imp.cancel_requested ? "Cancelling" : stateLabel(imp.state);
    this.text.textContent = `${label}: ${shown} % of ${formatBytes(imp.upload_bytes)} read`;
  }

  private stat(imp: ImportData, name: string): string {
    switch (name) {
      case "rows_per_second":
        return formatRate(imp.rows_per_second);
      case "eta_seconds":
        return FINISHED.has(imp.state) ? "—" : formatEta(imp.eta_seconds);
      case "rows_read":
      case "tasks_created":
      case "duplicates_skipped":
      case "problem_count":
        return formatCount(imp[name]);
      default:
        return "";
    }
  }

  private bindCancel(imp: ImportData): void {
    this.cancelBound = true;
    this.cancel.addEventListener("click", async () => {
      this.cancel.disabled = true;
      const answer = await request(`${this.links.apiImports}${imp.id}/cancel`, "POST", this.csrf);
      if (answer.status !== 202) this.notice(errorMessage(answer.status, answer.body));
    });
  }

  private showResult(imp: ImportData): void {
    this.result.replaceChildren();
    const detail = link(`${this.links.importsPage}${imp.id}`, `Import #${imp.number} in full`);
    if (imp.state === "succeeded") {
      const summary =
        `Imported: ${formatCount(imp.tasks_created)} tasks created from ` +
        `${formatCount(imp.rows_read)} rows, ` +
        `${formatCount(imp.duplicates_skipped)} duplicates skipped.`;
      const tasksUrl = `${this.links.tasksPage}?import=${encodeURIComponent(imp.id)}`;
      const tasks = link(tasksUrl, "See its tasks");
      this.result.append(make("p", summary, "message success"), this.actions(tasks, detail));
    } else if (imp.state === "failed") {
      const failed = make("p", imp.error_message, "message error");
      this.result.append(failed, problemTable(imp), this.actions(detail));
    } else {
      const message = imp.error_message || "Cancelled; no task was created.";
      const cancelled = make("p", message, "message");
      this.result.append(cancelled, this.actions(detail));
    }
  }

  private actions(...links: HTMLElement[]): HTMLElement {
    const box = make("p", "", "actions");
    box.append(...links, link(this.links.importsPage, "Refresh the list"));
    return box;
  }
}

/** A row of the imports table whose import is still running: its cells follow it. */
class RowView implements ImportView {
  constructor(private readonly row: HTMLElement) {}

  show(imp: ImportData): void {
    for (const cell of this.row.querySelectorAll<HTMLElement>("[data-field]")) {
      const name = cell.dataset.field as keyof ImportData;
      const value = imp[name];
      if (typeof value === "number") cell.textContent = formatCount(value);
    }
    const badge = this.row.querySelector<HTMLElement>("[data-field-state]");
    if (badge) {
      badge.textContent = stateLabel(imp.state);
      badge.className = `badge ${BADGES[imp.state] ?? ""}`.trim();
    }
    if (FINISHED.has(imp.state)) {
      const actions = this.row.querySelector<HTMLElement>("[data-field-actions]");
      actions?.replaceChildren(link(window.location.pathname, "Refresh"));
    }
  }

  notice(): void {}

  alive(): boolean {
    return this.row.isConnected;
  }
}

// --- The page ---------------------------------------------------------------------------------

function linksOf(root: HTMLElement): Links {
  return {
    apiImports: root.dataset.apiImports ?? "",
    importsPage: root.dataset.importsPage ?? "",
    tasksPage: root.dataset.tasksPage ?? "",
  };
}

/** The upload form: choosing, mapping, uploading, then following the job. */
class Importer {
  private file: File | null = null;
  private columns: string[] | null = null;
  private readonly form: HTMLFormElement;
  private readonly input: HTMLInputElement;
  private readonly drop: HTMLButtonElement;
  private readonly error: HTMLElement;
  private readonly job: JobView;
  private readonly fields: string[];
  private readonly links: Links;
  private readonly csrf: string;

  constructor(private readonly root: HTMLElement) {
    this.form = element<HTMLFormElement>(root, "form");
    this.input = element<HTMLInputElement>(root, "input[type=file]");
    this.drop = element<HTMLButtonElement>(root, "[data-import=drop]");
    this.error = element(root, "[data-import=error]");
    this.fields = (root.dataset.fields ?? "").split(" ").filter(Boolean);
    this.links = linksOf(root);
    this.csrf = root.dataset.csrf ?? "";
    this.job = new JobView(element(root, "[data-job-view]"), this.links, this.csrf);
  }

  bind(): void {
    this.drop.addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      const chosen = this.input.files?.[0];
      this.input.value = ""; // choosing the same file again is a change too
      if (chosen) void this.choose(chosen);
    });
    this.root.addEventListener("dragover", (event) => {
      event.preventDefault();
      this.drop.classList.add("dragover");
    });
    this.root.addEventListener("dragleave", () => this.drop.classList.remove("dragover"));
    this.root.addEventListener("drop", (event) => {
      event.preventDefault();
      this.drop.classList.remove("dragover");
      const dropped = event.dataTransfer?.files[0];
      if (dropped && !this.busy) void this.choose(dropped);
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.start();
    });
  }

  private say(problems: string[]): void {
    this.error.replaceChildren(...problems.map((problem) => make("p", problem)));
    this.error.hidden = problems.length === 0;
  }

  private get busy(): boolean {
    return this.root.getAttribute("aria-busy") === "true";
  }

  private get submit(): HTMLButtonElement {
    return element<HTMLButtonElement>(this.form, "[type=submit]");
  }

  private async choose(file: File): Promise<void> {
    this.submit.disabled = true;
    this.file = null;
    this.columns = null;
    this.showMapping(null);
    const chosen = element(this.root, "[data-import=chosen]");
    chosen.textContent = `${file.name} · ${formatBytes(file.size)}`;
    const problems = this.fileProblems(file);
    this.say(problems);
    if (problems.length) return;
    const format = formatOf(file.name)!;
    const note = element(this.root, "[data-import=gzip-note]");
    note.hidden = !(format.gzip && (format.kind === "csv" || format.kind === "tsv"));
    if ((format.kind === "csv" || format.kind === "tsv") && !format.gzip) {
      try {
        this.columns = await readHeader(file, format.kind === "tsv" ? "\t" : ",");
      } catch (error) {
        this.say([error instanceof HeaderError ? error.message : "The file could not be read."]);
        return;
      }
      this.say(headerProblems(this.columns));
      this.showMapping(this.columns);
    }
    this.file = file;
    this.submit.disabled = false;
  }

  private fileProblems(file: File): string[] {
    const formats = (this.root.dataset.formats ?? "").split(" ");
    const format = formatOf(file.name);
    if (!format || (format.kind === "zip" && !formats.includes(".zip"))) {
      return [`This file's name does not end in an accepted format: ${formats.join(", ")}.`];
    }
    const limit = Number(this.root.dataset.maxBytes ?? "0");
    if (limit && file.size > limit) {
      return [`The file is ${formatBytes(file.size)}; the limit is ${formatBytes(limit)}.`];
    }
    return file.size === 0 ? ["The file is empty."] : [];
  }

  private showMapping(columns: string[] | null): void {
    const box = element(this.root, "[data-import=mapping]");
    const body = element<HTMLTableSectionElement>(box, "tbody");
    body.replaceChildren();
    box.hidden = columns === null;
    for (const [index, column] of (columns ?? []).entries()) {
      const row = body.insertRow();
      const select = document.createElement("select");
      select.className = "small";
      select.id = `import-column-${index}`;
      select.dataset.column = column;
      for (const [value, label] of targetChoices(column, this.fields)) {
        select.append(new Option(label, value));
      }
      select.value = defaultTarget(column, this.fields);
      const name = make("label", column);
      name.setAttribute("for", select.id);
      const cell = row.insertCell();
      cell.append(name);
      row.insertCell().append(select);
    }
  }

  private mapping(): Mapping | null {
    if (this.columns === null) return null;
    const selects = this.root.querySelectorAll<HTMLSelectElement>("select[data-column]");
    return buildMapping(this.columns, Array.from(selects, (select) => select.value));
  }

  private async start(): Promise<void> {
    const file = this.file;
    if (!file) {
      this.say(["Choose a file first."]);
      return;
    }
    const mapping = this.mapping();
    const problems = [
      ...(this.columns ? headerProblems(this.columns) : []),
      ...(mapping ? mappingProblems(mapping) : []),
    ];
    this.say(problems);
    if (problems.length) return;
    const onDuplicate = new FormData(this.form).get("on_duplicate")?.toString() ?? "skip";
    this.setBusy(true);
    const answer = await this.upload(file, importQuery(file.name, onDuplicate, mapping));
    if (answer.status !== 202) {
      this.say([errorMessage(answer.status, answer.body)]);
      this.setBusy(false);
      return;
    }
    const started = (JSON.parse(answer.body) as { import: ImportData }).import;
    this.job.show(started);
    await follow(`${this.links.apiImports}${started.id}`, this.job, this.csrf);
    this.setBusy(false);
    await refreshList(this.links.importsPage, this.csrf);
  }

  private upload(file: File, query: string): Promise<Answer> {
    const block = element(this.root, "[data-import=upload]");
    const bar = element<HTMLProgressElement>(block, "progress");
    const text = element(block, "[data-import=upload-text]");
    block.hidden = false;
    bar.value = 0;
    text.textContent = uploadText(0, file.size);
    return uploadFile(`${this.links.apiImports}?${query}`, file, this.csrf, (loaded, total) => {
      bar.value = percent(loaded, total);
      text.textContent = uploadText(loaded, total);
    });
  }

  private setBusy(busy: boolean): void {
    type Control = HTMLInputElement | HTMLButtonElement | HTMLSelectElement;
    for (const control of this.form.querySelectorAll<Control>("input, button, select")) {
      control.disabled = busy;
    }
    this.root.setAttribute("aria-busy", String(busy));
  }
}

/** Ask before a destructive form of a refreshed list submits, as pages.js does at load. */
function bindConfirmations(root: ParentNode): void {
  for (const form of root.querySelectorAll<HTMLFormElement>("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm ?? "Are you sure?")) event.preventDefault();
    });
  }
}

/** Replace the list of imports with the server's current one (after an upload ended). */
async function refreshList(pageUrl: string, csrf: string): Promise<void> {
  const list = document.querySelector("[data-imports-list]");
  if (!list || !pageUrl) return;
  let answer: Answer;
  try {
    answer = await request(pageUrl, "GET", csrf);
  } catch {
    return; // the list stays as it was; the result offers "Refresh the list"
  }
  const fresh = new DOMParser()
    .parseFromString(answer.body, "text/html")
    .querySelector("[data-imports-list]");
  if (answer.status !== 200 || !fresh) return;
  const adopted = document.importNode(fresh, true);
  list.replaceWith(adopted);
  bindConfirmations(adopted);
  bindFollowers(adopted, csrf);
}

/** Imports already running when the page was rendered: their row or block follows them. */
function bindFollowers(root: ParentNode, csrf: string): void {
  for (const node of root.querySelectorAll<HTMLElement>("[data-follow-import]")) {
    const url = node.dataset.followImport ?? "";
    const page = node.closest<HTMLElement>("[data-api-imports]");
    const view = node.matches("tr")
      ? new RowView(node)
      : new JobView(node, linksOf(page ?? node), csrf);
    void follow(url, view, csrf).then((imp) => {
      // The import's own page: once it ends, show its full record as the server renders it.
      if (imp && node.dataset.reloadWhenDone !== undefined) window.location.reload();
    });
  }
}

export function init(root: ParentNode = document): void {
  const importer = root.querySelector<HTMLElement>("[data-importer]");
  if (importer) new Importer(importer).bind();
  const csrf = root.querySelector<HTMLElement>("[data-csrf]")?.dataset.csrf ?? "";
  bindFollowers(root, csrf);
}

if (typeof document !== "undefined" && !import.meta.env?.VITEST) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => init());
  } else init();
}
