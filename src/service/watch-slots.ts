import { Code, ConnectError } from "@connectrpc/connect";

/** Counts open WatchChannel streams against the process and per-channel limits. */
export class WatchSlots {
  private total = 0;
  private readonly perChannel = new Map<string, number>();

  constructor(private readonly limits: { readonly maxWatchStreams: number; readonly maxWatchersPerChannel: number }) {}

  get open(): number {
    return this.total;
  }

  /** Takes a slot for a stream on `channelId`; the returned function gives it back (once). */
  acquire(channelId: string): () => void {
    if (this.total >= this.limits.maxWatchStreams) {
      throw new ConnectError(
        `the server holds its maximum of ${this.limits.maxWatchStreams} watch streams (max-watch-streams); retry later or elsewhere`,
        Code.ResourceExhausted,
      );
    }
    const onChannel = this.perChannel.get(channelId) ?? 0;
    if (onChannel >= this.limits.maxWatchersPerChannel) {
      throw new ConnectError(
        `channel ${channelId} has its maximum of ${this.limits.maxWatchersPerChannel} watch streams (max-watchers-per-channel)`,
        Code.ResourceExhausted,
      );
    }
    this.total++;
    this.perChannel.set(channelId, onChannel + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perChannel.get(channelId) ?? 1) - 1;
      if (left === 0) this.perChannel.delete(channelId);
      else this.perChannel.set(channelId, left);
    };
  }
}
