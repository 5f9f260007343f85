import { formatWhen, standingOf, threadOf } from "./feedback";
import type { AnnotationInfo } from "./types";

const annotation = (status: string, review_state: string): AnnotationInfo => ({
  id: "a1",
  task_id: "t1",
  status,
  review_state,
  revision: 1,
  time_spent: 3,
  draft_saved_at: null,
});

describe("where one's answer stands", () => {
  it("may be revised unless accepted or never submitted, as the API allows", () => {
    expect(standingOf(annotation("submitted", "rejected"))).toMatchObject({ title: "Rejected", revisable: true });
    expect(standingOf(annotation("submitted", "pending"))).toMatchObject({ title: "Awaiting review", revisable: true });
    expect(standingOf(annotation("submitted", ""))).toMatchObject({ title: "Submitted", revisable: true });
    expect(standingOf(annotation("submitted", "accepted"))).toMatchObject({ title: "Accepted", revisable: false });
    expect(standingOf(annotation("skipped", ""))).toMatchObject({ title: "Not submitted", revisable: false });
    expect(standingOf(annotation("leased", "")).detail).toMatch(/in your queue/);
  });
});

describe("the feedback thread", () => {
  const reviews = [
    { id: "r2", author: "rev", created_at: "2026-01-02T10:00:00.000000Z", text: "Now fine.", decision: "accept" as const },
    { id: "r1", author: "rev", created_at: "2026-01-01T09:30:00.123Z", text: "<b>No</b>", decision: "reject" as const },
  ];
  const comments = [{ id: "c1", author: "me", created_at: "2026-01-01T12:00:00Z", text: "Fixed." }];

  it("merges reviews and comments oldest first, naming only oneself", () => {
    const thread = threadOf({ reviews, comments }, "me");
    expect(thread.map((e) => [e.id, e.who, e.decision])).toEqual([
      ["r1", "Reviewer", "Rejected"],
      ["c1", "You", null],
      ["r2", "Reviewer", "Accepted"],
    ]);
    expect(thread[0]).toMatchObject({ text: "<b>No</b>", when: "2026-01-01 09:30 UTC", own: false });
    expect(thread[1]!.own).toBe(true);
  });

  it("writes times as the lab's pages do", () => {
    expect(formatWhen("2026-03-01T14:05:59Z")).toBe("2026-03-01 14:05 UTC");
    expect(formatWhen("yesterday")).toBe("yesterday");
  });
});
