import type { TimerWheel } from "../lib/timer-wheel.js";
import { WheelTimer } from "../lib/timer-wheel.js";

/** What a watch stream's queue receives when the stream has been idle for the keep-alive interval. */
export const keepAlive = Symbol("keep-alive");

/**
 * The idle timer of a watch stream: `arm()` after each message sent,
 * `cancel()` when the stream ends. Every stream's timer runs on one shared
 * wheel (one clock timer for all streams), so it may fire up to one wheel
 * tick early, never late.
 */
export class KeepAliveTimer {
  private readonly timer: WheelTimer;

  constructor(
    private readonly wheel: TimerWheel,
    onIdle: () => void,
  ) {
    this.timer = new WheelTimer(onIdle);
  }

  arm(): void {
    this.wheel.arm(this.timer);
  }

  cancel(): void {
    this.wheel.disarm(this.timer);
  }
}
