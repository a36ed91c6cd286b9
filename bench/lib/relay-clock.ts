import { performance } from "node:perf_hooks";

/**
 * Relay latency inside one exchange: the sender notes when it starts a write
 * of an item, the other peer notes when the item reaches it; both run in
 * this process, so one clock serves. Items a peer finds in a snapshot (written
 * before it started watching) are not pushes and are not counted.
 */
export class RelayClock {
  private readonly sentAt = new Map<string, number>();

  constructor(private readonly samples: number[] | undefined) {}

  sending(key: string): void {
    if (this.samples) this.sentAt.set(key, performance.now());
  }

  received(key: string): void {
    if (!this.samples) return;
    const at = this.sentAt.get(key);
    if (at !== undefined) this.samples.push(performance.now() - at);
  }
}
