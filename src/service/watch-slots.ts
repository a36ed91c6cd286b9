import { limitExceeded } from "./limit-error.js";

/** How many streams one key (a channel, a room session, a client) may hold open. */
export interface PerKeyLimit {
  readonly max: number;
  /** The setting that raises `max`. */
  readonly setting: string;
}

/** How many streams a process, and each key, may hold open. */
export interface WatchSlotLimits {
  readonly maxWatchStreams: number;
  /** The limit of a key unless `acquire` names another. */
  readonly perKey: PerKeyLimit;
}

/** Counts open watch streams against the process and per-key limits. */
export class WatchSlots {
  private total = 0;
  private readonly perKey = new Map<string, number>();

  constructor(private readonly limits: WatchSlotLimits) {}

  get open(): number {
    return this.total;
  }

  /**
   * Takes a slot for a stream on `key` (what it names, then its id: "channel
   * 6f1c…", "client 203.0.113.7"), within `limit`; the returned function
   * gives it back (once).
   */
  acquire(key: string, limit: PerKeyLimit = this.limits.perKey): () => void {
    if (this.total >= this.limits.maxWatchStreams) {
      throw limitExceeded(
        "max-watch-streams",
        `the server holds its maximum of ${this.limits.maxWatchStreams} watch streams (max-watch-streams); retry later or elsewhere`,
      );
    }
    const onKey = this.perKey.get(key) ?? 0;
    const { max, setting } = limit;
    if (onKey >= max) {
      throw limitExceeded(setting, `${key} has its maximum of ${max} watch streams (${setting})`);
    }
    this.total++;
    this.perKey.set(key, onKey + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perKey.get(key) ?? 1) - 1;
      if (left === 0) this.perKey.delete(key);
      else this.perKey.set(key, left);
    };
  }
}
