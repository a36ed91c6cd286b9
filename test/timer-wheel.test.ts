import { describe, expect, it } from "vitest";
import { TimerWheel, WheelTimer } from "../src/lib/timer-wheel.js";
import { FakeClock } from "./support/fake-clock.js";

/** A FakeClock that counts the timers scheduled on it. */
class CountingClock extends FakeClock {
  scheduled = 0;
  override schedule(delayMs: number, callback: () => void) {
    this.scheduled++;
    return super.schedule(delayMs, callback);
  }
}

describe("TimerWheel (the shared keep-alive timer of watch streams)", () => {
  it("fires each armed timer once, no later than the delay and at most one tick early", () => {
    const clock = new CountingClock(1_000_000);
    const wheel = new TimerWheel(clock, 1600, 16);
    const fired: number[] = [];
    const timer = new WheelTimer(() => fired.push(clock.now()));
    wheel.arm(timer);
    clock.advance(1499);
    expect(fired).toEqual([]);
    clock.advance(101);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(1_000_000 + 1500);
    clock.advance(10_000);
    expect(fired).toHaveLength(1);
  });

  it("postpones a timer armed again and forgets a disarmed one", () => {
    const clock = new FakeClock(0);
    const wheel = new TimerWheel(clock, 1600, 16);
    let a = 0;
    let b = 0;
    const ta = new WheelTimer(() => a++);
    const tb = new WheelTimer(() => b++);
    wheel.arm(ta);
    wheel.arm(tb);
    clock.advance(1000);
    wheel.arm(ta);
    wheel.disarm(tb);
    clock.advance(600);
    expect([a, b]).toEqual([0, 0]);
    clock.advance(1000);
    expect([a, b]).toEqual([1, 0]);
  });

  it("runs thousands of timers on a handful of clock timers", () => {
    const clock = new CountingClock(0);
    const wheel = new TimerWheel(clock, 15_000, 16);
    let fired = 0;
    const timers = Array.from({ length: 5000 }, () => new WheelTimer(() => fired++));
    for (const [i, timer] of timers.entries()) {
      if (i % 500 === 0) clock.advance(100);
      wheel.arm(timer);
    }
    clock.advance(15_000);
    expect(fired).toBe(5000);
    expect(clock.scheduled).toBeLessThan(20);
  });
});
