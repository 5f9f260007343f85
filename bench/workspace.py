"""Benchmark of the workspace in the browser: JavaScript weight and submit-to-next-task time.

    .venv/bin/python bench/workspace.py --tasks 100000 --count 100

Sizes: every built bundle in frontend/dist/labelkeep/ gzipped (level 9), and per page the
scripts a real Chromium fetched to show it (the workspace, the review mode, the imports page,
the dashboard and the project page), gzipped likewise. Build first (``npm run build``).

Speed: fills a classification project (two labels) with ``--tasks`` tasks through the real
import pipeline as bench/queue.py does, starts gunicorn as production runs it, and signs an
annotator into Chromium (Debian's, with the browser tests' flags) by adding a real session
cookie to the context. The annotator labels ``--count`` tasks by keyboard (1, then Ctrl+Enter),
pausing ``--think-ms`` on each task as a person would (it gives the prefetch its chance), after
``--warmup`` tasks that are not counted. In the page, a capture listener marks the Ctrl+Enter
keydown with ``performance.now()``; a MutationObserver on the task element (``[data-ws=task]``;
the page has no attribute holding the task id, so the task's own number in its text is the
hook) marks the moment the next task's text is in the DOM, and a requestAnimationFrame after it
the frame that shows it. p50/p95 of both; the workspace's own ``labelkeep:next`` measure too.

The last line is JSON: ``js_gzip_kb`` (the largest page), ``next_render_p50_ms``,
``next_render_p95_ms`` (to the DOM), ``next_frame_p95_ms`` (to the frame), the sizes per page
and per file, and the run's settings.
"""

import argparse
import gzip
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script: keep bench/ off sys.path, or its queue.py would shadow the standard module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.harness import manage, run_in_work_folder, start  # noqa: E402

DIST = ROOT / "frontend" / "dist" / "labelkeep"
CHROMIUM = "/usr/bin/chromium"
# The browser tests' flags (tests/e2e/conftest.py), so both measure the same browser.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BUDGET_KB = 100
TARGET_MS = 100

SETUP = """
import json, os, time
from django.conf import settings
from accounts.models import User
from bench.harness import session_for
from audit.services import Actor
from datasets import imports
from datasets.models import ImportState
from projects import services
from projects.models import Role
admin = User.objects.create_user("bench@lab.test", None, is_staff=True)
actor = Actor.system(user=admin)
project = services.project_create(actor=actor, name="Workspace bench", overlap=1,
    review_required=True, instructions="Label the **sentiment** of the text.",
    label_schema={"labels": [{"name": "positive"}, {"name": "negative"}]})
sessions = {}
for name, role in (("annotator", Role.ANNOTATOR), ("manager", Role.MANAGER)):
    user = User.objects.create_user(f"{name}@lab.test", None)
    services.member_add(actor=actor, project=project, user=user, role=role)
    sessions[name] = session_for(user)
started = time.monotonic()
options = imports.import_options(project, file_name="tasks.jsonl")
with open(os.environ["BENCH_TASKS_FILE"], "rb") as source:
    imp = imports.import_create(actor=actor, project=project, options=options, source=source)
imp.refresh_from_db()  # the job ran on commit, inline (CELERY_TASK_ALWAYS_EAGER)
assert imp.state == ImportState.SUCCEEDED, imp.problems
print(json.dumps({"project": str(project.pk), "sessions": sessions,
    "fill_s": time.monotonic() - started, "tasks": imp.tasks_created,
    "session_cookie": settings.SESSION_COOKIE_NAME}))
"""

# Installed in the page once the first task shows. Times are performance.now() milliseconds.
WATCH = """
() => {
  const task = document.querySelector('[data-ws=task]');
  const number = () => {
    const m = task.textContent.match(/\\((\\d+)\\)/);
    return m ? m[1] : null;
  };
  const bench = { start: null, before: null, dom: [], frame: [] };
  window.__bench = bench;
  window.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.ctrlKey) {
      bench.before = number();
      bench.start = performance.now();
      performance.mark('bench:submit');
    }
  }, true);
  new MutationObserver(() => {
    if (bench.start === null) return;
    const now = number();
    if (now === null || now === bench.before) return;
    const start = bench.start;
    bench.start = null;
    bench.dom.push(performance.now() - start);
    performance.mark('bench:rendered');
    requestAnimationFrame(() => bench.frame.push(performance.now() - start));
  }).observe(task, { childList: true, subtree: true, characterData: true });
  return number();
}
"""


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks in the project")
    parser.add_argument("--count", type=int, default=100, help="tasks labelled and measured")
    parser.add_argument("--warmup", type=int, default=5, help="tasks labelled first, unmeasured")
    parser.add_argument("--think-ms", type=int, default=300, help="pause on each task")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work folder and database")
    return parser.parse_args()


def gzip_kb(data: bytes) -> float:
    return round(len(gzip.compress(data, compresslevel=9)) / 1024, 2)


def bundle_sizes() -> dict[str, float]:
    files = sorted(DIST.glob("*.js"))
    if not files:
        raise SystemExit(f"No bundles in {DIST}: run `npm run build` in frontend/ first.")
    return {path.name: gzip_kb(path.read_bytes()) for path in files}


def ms(values: list[float], q: float) -> float | None:
    """The q-quantile by nearest rank, rounded to 0.1 ms."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 1)


def fill(args: argparse.Namespace, env: dict[str, str], work: Path) -> dict[str, Any]:
    """Migrate, collect the static files, create the project and its people, import."""
    from bench.queue import write_tasks

    tasks_file = work / "tasks.jsonl"
    write_tasks(tasks_file, args.tasks, args.seed)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    setup_env = dict(env, CELERY_TASK_ALWAYS_EAGER="true", BENCH_TASKS_FILE=str(tasks_file))
    setup: dict[str, Any] = json.loads(
        manage(setup_env, "shell", "-c", SETUP).strip().splitlines()[-1]
    )
    tasks_file.unlink()
    print(f"{setup['tasks']:,} tasks imported in {setup['fill_s']:.1f} s", file=sys.stderr)
    return setup


def signed_in(browser: Any, base: str, cookie: str, session: str) -> Any:
    context = browser.new_context(base_url=base)
    context.add_cookies([{"name": cookie, "value": session, "url": base}])
    return context


def page_sizes(browser: Any, base: str, setup: dict[str, Any]) -> dict[str, float]:
    """Per page, the gzipped size of the scripts Chromium fetched to show it."""
    project = setup["project"]
    pages = {
        "workspace": ("annotator", f"/projects/{project}/work/"),
        "review": ("manager", f"/projects/{project}/review/"),
        "imports": ("manager", f"/projects/{project}/imports/"),
        "dashboard": ("manager", f"/projects/{project}/dashboard/"),
        "project": ("manager", f"/projects/{project}/"),
    }
    sizes = {}
    for name, (who, path) in pages.items():
        context = signed_in(browser, base, setup["session_cookie"], setup["sessions"][who])
        page = context.new_page()
        scripts: dict[str, bytes] = {}

        def on_response(response: Any, scripts: dict[str, bytes] = scripts) -> None:
            if response.request.resource_type == "script" and response.ok:
                scripts[response.url] = response.body()

        page.on("response", on_response)
        page.goto(path, wait_until="networkidle")
        sizes[name] = round(sum(gzip_kb(body) for body in scripts.values()), 2)
        context.close()
    return sizes


def wait_for(page: Any, n: int, timeout_s: float = 30) -> None:
    """Until the page has measured n tasks. Polled from here: wait_for_function evaluates its
    predicate with eval() in the page, which the CSP (rightly) refuses."""
    deadline = time.monotonic() + timeout_s
    while page.evaluate("window.__bench.frame.length") < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"Task {n} was not shown within {timeout_s} s.")
        time.sleep(0.005)


def label(page: Any, think_s: float) -> None:
    page.wait_for_timeout(think_s * 1000)
    page.keyboard.press("1")
    page.keyboard.press("Control+Enter")


def measure(browser: Any, base: str, setup: dict[str, Any], args: argparse.Namespace) -> Any:
    context = signed_in(browser, base, setup["session_cookie"], setup["sessions"]["annotator"])
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"/projects/{setup['project']}/work/")
    page.locator("[data-ws=task]").get_by_text(re.compile(r"\(\d+\)")).first.wait_for()
    page.evaluate(WATCH)
    for n in range(1, args.warmup + args.count + 1):
        label(page, args.think_ms / 1000)
        wait_for(page, n)
    bench = page.evaluate("window.__bench")
    own = page.evaluate("performance.getEntriesByName('labelkeep:next').map(e => e.duration)")
    context.close()
    skip = args.warmup
    return bench["dom"][skip:], bench["frame"][skip:], own[skip:], errors


def run(
    args: argparse.Namespace, env: dict[str, str], work: Path, processes: list[Any]
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    files = bundle_sizes()
    setup = fill(args, env, work)
    web, _, port = start(env, args.web_workers, work / "server.log", worker=False)
    processes.append(web)
    base = f"http://127.0.0.1:{port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        pages = page_sizes(browser, base, setup)
        dom, frame, own, errors = measure(browser, base, setup, args)
        browser.close()
    largest = max(pages.values())
    print(
        f"JS gzipped per page (KB): {pages}; per file: {files}; largest {largest} KB "
        f"(budget {BUDGET_KB}); submit → next task: DOM p50 {ms(dom, 0.5)} ms "
        f"p95 {ms(dom, 0.95)} ms, frame p50 {ms(frame, 0.5)} ms p95 {ms(frame, 0.95)} ms "
        f"(target {TARGET_MS}); console errors {len(errors)}",
        file=sys.stderr,
    )
    return {
        "js_gzip_kb": largest,
        "js_gzip_total_kb": round(sum(files.values()), 2),
        "next_render_p50_ms": ms(dom, 0.5),
        "next_render_p95_ms": ms(dom, 0.95),
        "next_frame_p50_ms": ms(frame, 0.5),
        "next_frame_p95_ms": ms(frame, 0.95),
        "own_measure_p95_ms": ms(own, 0.95),
        "js_gzip_kb_per_page": pages,
        "js_gzip_kb_per_file": files,
        "measured": len(dom),
        "console_errors": errors[:10],
        "tasks": args.tasks,
        "count": args.count,
        "warmup": args.warmup,
        "think_ms": args.think_ms,
        "web_workers": args.web_workers,
        "database": "postgresql" if env.get("DATABASE_URL") else "sqlite",
        "fill_s": round(setup["fill_s"], 2),
    }


def main() -> None:
    run_in_work_folder("workspace", parse(), run)


if __name__ == "__main__":
    main()
