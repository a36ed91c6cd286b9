import type { Cancel, Clock } from "../lib/clock.js";

/** What a watch stream's queue receives when the stream has been idle for the keep-alive interval. */
export const keepAlive = Symbol("keep-alive");

/** The idle timer of a watch stream: `arm()` after each message sent, `cancel()` when the stream ends. */
export class KeepAliveTimer {
  private cancelTimer: Cancel = () => {};

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly onIdle: () => void,
  ) {}

  arm(): void {
    this.cancelTimer();
    this.cancelTimer = this.clock.schedule(this.intervalMs, this.onIdle);
  }

  cancel(): void {
    this.cancelTimer();
  }
}
