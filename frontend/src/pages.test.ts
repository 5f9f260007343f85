import { bindConfirmations, bindDependentFields } from "./pages";

describe("bindConfirmations", () => {
  it("cancels the submit when the person says no", () => {
    document.body.innerHTML = `<form data-confirm="Revoke?"><button>go</button></form>`;
    const asked: string[] = [];
    bindConfirmations(document, (message) => {
      asked.push(message);
      return false;
    });
    const event = new Event("submit", { cancelable: true });
    document.querySelector("form")!.dispatchEvent(event);
    expect(asked).toEqual(["Revoke?"]);
    expect(event.defaultPrevented).toBe(true);
  });

  it("lets the submit through when the person agrees", () => {
    document.body.innerHTML = `<form data-confirm="Remove?"></form>`;
    bindConfirmations(document, () => true);
    const event = new Event("submit", { cancelable: true });
    document.querySelector("form")!.dispatchEvent(event);
    expect(event.defaultPrevented).toBe(false);
  });
});

describe("bindDependentFields", () => {
  it("shows the project list only for the export scope", () => {
    document.body.innerHTML = `
      <input type="radio" name="scope" value="full" checked>
      <input type="radio" name="scope" value="export">
      <fieldset data-shown-when="scope=export"></fieldset>`;
    bindDependentFields(document);
    const group = document.querySelector("fieldset")!;
    expect(group.hidden).toBe(true);
    const exportRadio = document.querySelector<HTMLInputElement>('input[value="export"]')!;
    exportRadio.checked = true;
    exportRadio.dispatchEvent(new Event("change"));
    expect(group.hidden).toBe(false);
  });

  it("shows a group for any of the values it names", () => {
    document.body.innerHTML = `
      <select name="task_type"><option>classification</option><option>ner</option><option>chat</option></select>
      <div data-shown-when="task_type=classification|ner"></div>`;
    bindDependentFields(document);
    const group = document.querySelector("div")!;
    const select = document.querySelector("select")!;
    expect(group.hidden).toBe(false);
    for (const [value, hidden] of [["ner", false], ["chat", true]] as const) {
      select.value = value;
      select.dispatchEvent(new Event("change"));
      expect(group.hidden).toBe(hidden);
    }
  });
});
