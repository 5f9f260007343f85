// The timer's and the draft indicator's words.

/** Seconds between two performance.now() readings, never negative. */
export function secondsBetween(start: number, end: number): number {
  return Math.max(0, (end - start) / 1000);
}

/** 00:41, 12:05, 1:02:09. */
export function formatClock(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const two = (n: number): string => String(n).padStart(2, "0");
  const clock = `${two(Math.floor((whole % 3600) / 60))}:${two(whole % 60)}`;
  return whole >= 3600 ? `${Math.floor(whole / 3600)}:${clock}` : clock;
}

export function savedAgo(savedAt: number, now: number): string {
  const seconds = Math.floor(Math.max(0, now - savedAt) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  return `${Math.floor(seconds / 60)} min ago`;
}
