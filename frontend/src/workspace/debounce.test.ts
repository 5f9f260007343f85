import { Debounced, type Timers } from "./debounce";
import { formatClock, savedAgo, secondsBetween } from "./time";

class FakeTimers implements Timers {
  now = 0;
  private next = 1;
  private waiting = new Map<number, { at: number; callback: () => void }>();

  set(callback: () => void, ms: number): number {
    const handle = this.next++;
    this.waiting.set(handle, { at: this.now + ms, callback });
    return handle;
  }

  clear(handle: number): void {
    this.waiting.delete(handle);
  }

  advance(ms: number): void {
    this.now += ms;
    for (const [handle, timer] of [...this.waiting]) {
      if (timer.at <= this.now) {
        this.waiting.delete(handle);
        timer.callback();
      }
    }
  }
}

describe("the draft debounce", () => {
  it("runs once, a second after the last change", () => {
    const timers = new FakeTimers();
    let runs = 0;
    const saves = new Debounced(() => runs++, 1000, timers);
    saves.schedule();
    timers.advance(600);
    saves.schedule();
    timers.advance(600);
    expect(runs).toBe(0);
    expect(saves.pending).toBe(true);
    timers.advance(400);
    expect(runs).toBe(1);
    expect(saves.pending).toBe(false);
  });

  it("flushes at once or drops the waiting run", () => {
    const timers = new FakeTimers();
    let runs = 0;
    const saves = new Debounced(() => runs++, 1000, timers);
    expect(saves.flush()).toBe(false);
    saves.schedule();
    expect(saves.flush()).toBe(true);
    timers.advance(2000);
    expect(runs).toBe(1);
    saves.schedule();
    saves.cancel();
    timers.advance(2000);
    expect(runs).toBe(1);
  });
});

describe("the timer's words", () => {
  it("formats clocks and ages", () => {
    expect(formatClock(41.9)).toBe("00:41");
    expect(formatClock(725)).toBe("12:05");
    expect(formatClock(3729)).toBe("1:02:09");
    expect(secondsBetween(2000, 500)).toBe(0);
    expect(savedAgo(0, 2000)).toBe("just now");
    expect(savedAgo(0, 12_000)).toBe("12 s ago");
    expect(savedAgo(0, 125_000)).toBe("2 min ago");
  });
});
