// The reviewers' feedback on one's own answer, as plain data: where the answer stands (and
// whether it may still be revised), and the reviews and comments as one thread in time order.

import type { AnnotationDetail, AnnotationInfo, Note } from "./types";

export interface Standing {
  /** A short word for the badge: Rejected, Accepted, Awaiting review, … */
  title: string;
  /** What it means and what to do, in words. */
  detail: string;
  /** Whether its author may revise it (submitted and not accepted: the API's rule). */
  revisable: boolean;
}

const NOT_SUBMITTED: Record<string, string> = {
  leased: "Not submitted yet: this task is in your queue (Back to labelling).",
  skipped: "You skipped this task.",
  released: "You gave this task back without an answer.",
  expired: "Your lease on this task ran out before you submitted it.",
};

export function standingOf(annotation: AnnotationInfo): Standing {
  if (annotation.status !== "submitted")
    return { title: "Not submitted", detail: NOT_SUBMITTED[annotation.status] ?? "Not submitted.", revisable: false };
  switch (annotation.review_state) {
    case "rejected":
      return {
        title: "Rejected",
        detail: "A reviewer rejected this answer. Revise it (E) to send it back to review, or reply (R).",
        revisable: true,
      };
    case "accepted":
      return { title: "Accepted", detail: "Accepted: this answer counts. It can no longer be revised.", revisable: false };
    case "pending":
      return { title: "Awaiting review", detail: "Waiting for a reviewer. You may still revise it (E).", revisable: true };
    default:
      return { title: "Submitted", detail: "Submitted; this project does not review answers. You may revise it (E).", revisable: true };
  }
}

export interface Entry {
  id: string;
  /** "You", or "Reviewer" for anyone else (reviewers and managers), never their address. */
  who: string;
  when: string;
  text: string;
  /** The decision a review made ("Rejected"), or null for a comment. */
  decision: string | null;
  own: boolean;
}

const DECISIONS: Record<string, string> = { accept: "Accepted", reject: "Rejected", correct: "Corrected" };

/** "2025-03-01 14:05 UTC" from the API's ISO 8601 time in UTC. */
export function formatWhen(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}

function entry(note: Note, userId: string, decision: string | null): Entry {
  const own = note.author === userId;
  return { id: note.id, who: own ? "You" : "Reviewer", when: formatWhen(note.created_at), text: note.text, decision, own };
}

/** The reviews (with their decisions) and comments, oldest first. */
export function threadOf(detail: Pick<AnnotationDetail, "reviews" | "comments">, userId: string): Entry[] {
  const notes = [
    ...detail.reviews.map((note) => ({ note, decision: DECISIONS[note.decision ?? ""] ?? null })),
    ...detail.comments.map((note) => ({ note, decision: null })),
  ];
  notes.sort((a, b) => (a.note.created_at < b.note.created_at ? -1 : a.note.created_at > b.note.created_at ? 1 : 0));
  return notes.map(({ note, decision }) => entry(note, userId, decision));
}
