// Entry of the workspace page (a module script; the page has no inline script). The page's
// settings come from a JSON block that never runs (json_script).

import { Workspace } from "./app";
import { OwnWorkspace } from "./own";
import { ReviewWorkspace } from "./review";
import type { Config } from "./types";

function init(): void {
  const root = document.querySelector<HTMLElement>("[data-workspace]");
  const source = document.getElementById("workspace-config");
  if (!root || !source) return;
  const config = JSON.parse(source.textContent ?? "{}") as Config;
  if (config.mode === "review") void new ReviewWorkspace(root, config).start();
  else if (config.mode === "own") void new OwnWorkspace(root, config).start();
  else void new Workspace(root, config).start();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
