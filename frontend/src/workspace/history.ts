// Undo and redo of answer changes: a stack of whole states (answers are small). A run of typing
// in one field within COALESCE_MS is one step, so Ctrl+Z takes back a phrase, not a letter.

export const COALESCE_MS = 1000;
export const MAX_STEPS = 200;

export class History<T> {
  private past: T[] = [];
  private future: T[] = [];
  private lastGroup: string | null = null;
  private lastAt = -Infinity;

  constructor(private current: T) {}

  get state(): T {
    return this.current;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }

  /** Record a new state. Changes of the same `group` close together replace one another. */
  push(next: T, group: string | null = null, now = 0): void {
    const merge = group !== null && group === this.lastGroup && now - this.lastAt < COALESCE_MS;
    if (!merge) {
      this.past.push(this.current);
      if (this.past.length > MAX_STEPS) this.past.shift();
    }
    this.current = next;
    this.future = [];
    this.lastGroup = group;
    this.lastAt = now;
  }

  undo(): T | null {
    const previous = this.past.pop();
    if (previous === undefined) return null;
    this.future.push(this.current);
    this.current = previous;
    this.lastGroup = null;
    return previous;
  }

  redo(): T | null {
    const next = this.future.pop();
    if (next === undefined) return null;
    this.past.push(this.current);
    this.current = next;
    this.lastGroup = null;
    return next;
  }
}
