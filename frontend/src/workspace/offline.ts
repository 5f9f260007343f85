// Work kept in the browser while the server cannot be reached. A draft that could not be saved
// is kept in this tab's session storage (gone when the tab closes: an answer never outlives the
// tab on a shared machine), retried until a save goes through, then dropped. A reload while it
// is kept brings it back if it is newer than the draft the server has.

import { ApiError } from "./api";

export const OFFLINE = "You are offline: your answer is kept in this browser and saved as soon as the connection is back.";
export const OFFLINE_SUBMIT =
  "You are offline: your answer was not sent. It is kept in this browser; press Ctrl+Enter again once the connection is back.";

export interface Kept {
  draft: unknown;
  /** When it was kept, in ms since the epoch. */
  keptAt: number;
}

/** Whether an error means the server could not be reached (rather than that it refused). */
export function isOffline(error: unknown): boolean {
  return error instanceof ApiError && error.code === "offline";
}

export class LocalDrafts {
  constructor(
    private readonly storage: Storage | null,
    private readonly project: string,
  ) {}

  private key(taskId: string): string {
    return `labelkeep:draft:${this.project}:${taskId}`;
  }

  keep(taskId: string, draft: unknown, now: number): boolean {
    try {
      this.storage?.setItem(this.key(taskId), JSON.stringify({ draft, keptAt: now }));
      return this.storage !== null;
    } catch {
      return false; // storage full or refused: the work stays on the page only
    }
  }

  /** The draft kept for a task, if any and readable. */
  get(taskId: string): Kept | null {
    try {
      const value = JSON.parse(this.storage?.getItem(this.key(taskId)) ?? "null") as Partial<Kept> | null;
      return value && typeof value.keptAt === "number" && "draft" in value ? { draft: value.draft, keptAt: value.keptAt } : null;
    } catch {
      return null;
    }
  }

  drop(taskId: string): void {
    try {
      this.storage?.removeItem(this.key(taskId));
    } catch {
      // nothing kept, nothing to drop
    }
  }

  /** The kept draft when it is newer than the server's (saved at `serverSavedAt`, ISO 8601). */
  newer(taskId: string, serverSavedAt: string | null): Kept | null {
    const kept = this.get(taskId);
    if (!kept) return null;
    const server = serverSavedAt === null ? Number.NEGATIVE_INFINITY : Date.parse(serverSavedAt);
    return kept.keptAt > server ? kept : null;
  }
}

/** The session storage, where the browser has one and allows it. */
export function sessionStore(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
