import { ApiError, apiError } from "./api";
import { isOffline, LocalDrafts } from "./offline";

describe("drafts kept in the browser while offline", () => {
  beforeEach(() => sessionStorage.clear());

  it("are kept per project and task, and dropped once saved", () => {
    const drafts = new LocalDrafts(sessionStorage, "p1");
    expect(drafts.keep("t1", { version: 1, state: { labels: ["Spam"] } }, 1000)).toBe(true);
    expect(new LocalDrafts(sessionStorage, "p2").get("t1")).toBeNull();
    expect(drafts.get("t1")).toEqual({ draft: { version: 1, state: { labels: ["Spam"] } }, keptAt: 1000 });
    drafts.drop("t1");
    expect(drafts.get("t1")).toBeNull();
  });

  it("come back only when newer than the server's draft", () => {
    const drafts = new LocalDrafts(sessionStorage, "p1");
    const at = Date.parse("2026-01-01T10:00:00Z");
    drafts.keep("t1", { n: 1 }, at);
    expect(drafts.newer("t1", null)?.draft).toEqual({ n: 1 });
    expect(drafts.newer("t1", "2026-01-01T09:59:59.500000Z")?.draft).toEqual({ n: 1 });
    expect(drafts.newer("t1", "2026-01-01T10:00:01Z")).toBeNull();
    expect(drafts.newer("t2", null)).toBeNull();
  });

  it("survive a storage that is missing, full or holds garbage", () => {
    expect(new LocalDrafts(null, "p1").keep("t1", {}, 1)).toBe(false);
    const full = { setItem: () => { throw new Error("QuotaExceededError"); }, getItem: () => "{not json" } as unknown as Storage;
    const drafts = new LocalDrafts(full, "p1");
    expect(drafts.keep("t1", {}, 1)).toBe(false);
    expect(drafts.get("t1")).toBeNull();
  });

  it("are only for a connection that failed, not for a refusal", () => {
    expect(isOffline(apiError(0, ""))).toBe(true);
    expect(isOffline(apiError(503, "{}"))).toBe(false);
    expect(isOffline(new ApiError("No.", 409, "lease_expired"))).toBe(false);
    expect(isOffline(new Error("offline"))).toBe(false);
  });
});
