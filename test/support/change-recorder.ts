import type { ChannelChange, ChannelStore, Unsubscribe } from "../../src/store/store.js";

/** Watches a channel and hands out its changes in order, waiting for the next one when none is there yet. */
export class ChangeRecorder {
  private readonly changes: ChannelChange[] = [];
  private waiting: ((change: ChannelChange) => void) | undefined;
  readonly unsubscribe: Unsubscribe;

  constructor(store: ChannelStore, channelId: string) {
    this.unsubscribe = store.watchChannel(channelId, (change) => {
      if (this.waiting) {
        const resolve = this.waiting;
        this.waiting = undefined;
        resolve(change);
      } else {
        this.changes.push(change);
      }
    });
  }

  next(): Promise<ChannelChange> {
    const change = this.changes.shift();
    if (change) return Promise.resolve(change);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** The next change that is not an update at or below `version`: skips updates a store may repeat or batch. */
  async nextAfter(version: number): Promise<ChannelChange> {
    for (;;) {
      const change = await this.next();
      if (change.kind !== "updated" || change.state.version > version) return change;
    }
  }
}
