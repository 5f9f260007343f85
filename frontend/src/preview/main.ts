// Entry of the project create and settings pages' schema preview (a module script loaded only on
// those pages; the examples come from a JSON block that never runs, json_script).

import { SchemaEditor, type Examples } from "./editor";

/** The sample image of box tasks, fetched once from our static files (no API call). */
function sampleImage(url: string): () => Promise<Blob> {
  let blob: Promise<Blob> | null = null;
  return () => {
    blob ??= fetch(url).then((response) => {
      if (!response.ok) throw new Error(`the sample image answered ${response.status}`);
      return response.blob();
    });
    return blob;
  };
}

function init(): void {
  const editor = document.querySelector<HTMLElement>("[data-schema-editor]");
  const panel = document.querySelector<HTMLElement>("[data-schema-preview]");
  if (!editor || !panel) return;
  const source = document.getElementById("schema-examples");
  const examples = JSON.parse(source?.textContent ?? "{}") as Examples;
  new SchemaEditor(editor, panel, examples, sampleImage(panel.dataset.sampleImage ?? ""));
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
