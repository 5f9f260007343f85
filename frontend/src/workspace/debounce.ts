// Run an action some time after the last call (draft saves about a second after a change), with
// a way to run it at once (before submitting, or when the page is left) or to drop it.

export interface Timers {
  set(callback: () => void, ms: number): number;
  clear(handle: number): void;
}

const browserTimers: Timers = {
  set: (callback, ms) => window.setTimeout(callback, ms),
  clear: (handle) => window.clearTimeout(handle),
};

export class Debounced {
  private handle: number | null = null;

  constructor(
    private readonly action: () => void,
    private readonly ms: number,
    private readonly timers: Timers = browserTimers,
  ) {}

  get pending(): boolean {
    return this.handle !== null;
  }

  schedule(): void {
    this.cancel();
    this.handle = this.timers.set(() => {
      this.handle = null;
      this.action();
    }, this.ms);
  }

  /** Run now if a run is waiting; returns whether it ran. */
  flush(): boolean {
    if (this.handle === null) return false;
    this.cancel();
    this.action();
    return true;
  }

  cancel(): void {
    if (this.handle !== null) this.timers.clear(this.handle);
    this.handle = null;
  }
}
