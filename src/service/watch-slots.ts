import { limitExceeded } from "./limit-error.js";

/** How many streams a process, and each key (a channel, a room session), may hold open. */
export interface WatchSlotLimits {
  readonly maxWatchStreams: number;
  readonly perKey: {
    readonly max: number;
    /** What a key names, for the error message: "channel", "session". */
    readonly what: string;
    /** The setting that raises `max`. */
    readonly setting: string;
  };
}

/** Counts open watch streams against the process and per-key limits. */
export class WatchSlots {
  private total = 0;
  private readonly perKey = new Map<string, number>();

  constructor(private readonly limits: WatchSlotLimits) {}

  get open(): number {
    return this.total;
  }

  /** Takes a slot for a stream on `key`; the returned function gives it back (once). */
  acquire(key: string): () => void {
    if (this.total >= this.limits.maxWatchStreams) {
      throw limitExceeded(
        "max-watch-streams",
        `the server holds its maximum of ${this.limits.maxWatchStreams} watch streams (max-watch-streams); retry later or elsewhere`,
      );
    }
    const onKey = this.perKey.get(key) ?? 0;
    const { max, what, setting } = this.limits.perKey;
    if (onKey >= max) {
      throw limitExceeded(setting, `${what} ${key} has its maximum of ${max} watch streams (${setting})`);
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
