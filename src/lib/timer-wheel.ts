import type { Cancel, Clock } from "./clock.js";

/** One timer of a TimerWheel; arm it again to restart it. */
export class WheelTimer {
  /** The tick it falls due at while armed. */
  slot: number | undefined;

  constructor(readonly fire: () => void) {}
}

/**
 * Many timers of one fixed delay (keep-alives of idle streams) on a single
 * clock timer instead of one each: timers are grouped by the tick they fall
 * due at, and a timer fires up to one tick (delay / ticksPerDelay) early,
 * never late. Arming and disarming are O(1).
 */
export class TimerWheel {
  private readonly slots = new Map<number, Set<WheelTimer>>();
  private readonly tickMs: number;
  private next: { slot: number; cancel: Cancel } | undefined;

  constructor(
    private readonly clock: Clock,
    readonly delayMs: number,
    ticksPerDelay = 16,
  ) {
    this.tickMs = Math.max(1, Math.floor(delayMs / ticksPerDelay));
  }

  /** Starts `timer` (again): it fires once, `delayMs` from now. */
  arm(timer: WheelTimer): void {
    this.disarm(timer);
    const slot = Math.floor((this.clock.now() + this.delayMs) / this.tickMs);
    let due = this.slots.get(slot);
    if (!due) this.slots.set(slot, (due = new Set()));
    due.add(timer);
    timer.slot = slot;
    if (!this.next || this.next.slot > slot) this.schedule(slot);
  }

  disarm(timer: WheelTimer): void {
    if (timer.slot === undefined) return;
    const due = this.slots.get(timer.slot);
    due?.delete(timer);
    if (due?.size === 0) this.slots.delete(timer.slot);
    timer.slot = undefined;
  }

  private schedule(slot: number): void {
    this.next?.cancel();
    const cancel = this.clock.schedule(slot * this.tickMs - this.clock.now(), () => this.tick());
    this.next = { slot, cancel };
  }

  private tick(): void {
    this.next = undefined;
    const now = Math.floor(this.clock.now() / this.tickMs);
    for (const [slot, due] of [...this.slots]) {
      if (slot > now) continue;
      this.slots.delete(slot);
      for (const timer of due) {
        timer.slot = undefined;
        timer.fire();
      }
    }
    let earliest: number | undefined;
    for (const slot of this.slots.keys()) if (earliest === undefined || slot < earliest) earliest = slot;
    if (earliest !== undefined) this.schedule(earliest);
  }
}
