import { focusables, Overlay, trapTarget } from "./overlays";

function dialog(): { overlay: Overlay; opener: HTMLButtonElement; inside: HTMLElement[] } {
  document.body.innerHTML = `
    <button id="opener">Help</button>
    <div id="dialog" hidden>
      <button id="one">One</button>
      <input id="note" type="text">
      <button id="off" disabled>Off</button>
      <p hidden><button id="gone">Gone</button></p>
      <button id="close">Close</button>
    </div>`;
  const element = document.getElementById("dialog")!;
  const overlay = new Overlay(element, () => document.getElementById("one"));
  const inside = ["one", "note", "close"].map((id) => document.getElementById(id)!);
  return { overlay, opener: document.getElementById("opener") as HTMLButtonElement, inside };
}

const tab = (shift = false): KeyboardEvent => {
  const event = new KeyboardEvent("keydown", { key: "Tab", shiftKey: shift, bubbles: true, cancelable: true });
  (document.activeElement ?? document.body).dispatchEvent(event);
  return event;
};

describe("a dialog's focus trap", () => {
  it("stops only at the dialog's enabled, shown controls", () => {
    const { overlay, inside } = dialog();
    expect(focusables(overlay.element)).toEqual(inside);
  });

  it("wraps Tab from the last control to the first and Shift+Tab the other way", () => {
    const { overlay, opener, inside } = dialog();
    opener.focus();
    overlay.show();
    expect(document.activeElement).toBe(inside[0]);
    expect(tab(true).defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(inside[2]);
    expect(tab().defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(inside[0]);
    // In the middle the browser's own order stays inside: nothing to do.
    expect(tab().defaultPrevented).toBe(false);
  });

  it("brings a focus that slipped out back in, and gives it back on close", () => {
    const { overlay, opener, inside } = dialog();
    opener.focus();
    overlay.show();
    opener.focus(); // as a click outside would
    tab();
    expect(document.activeElement).toBe(inside[0]);
    overlay.hide();
    expect(document.activeElement).toBe(opener);
    expect(tab().defaultPrevented).toBe(false); // closed: Tab is the page's again
  });

  it("picks the ends for a focus outside the list", () => {
    const items = [document.createElement("button"), document.createElement("button")];
    expect(trapTarget(items, null, false)).toBe(items[0]);
    expect(trapTarget(items, null, true)).toBe(items[1]);
    expect(trapTarget([], null, false)).toBeNull();
  });
});
