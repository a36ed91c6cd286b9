import type { Unsubscribe } from "./store.js";

/** Listeners grouped by key (a channel id, a room name), each called with every change of its key. */
export class Listeners<Change> {
  private readonly byKey = new Map<string, Set<(change: Change) => void>>();

  add(key: string, listener: (change: Change) => void): Unsubscribe {
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      const current = this.byKey.get(key);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.byKey.delete(key);
    };
  }

  /** Calls every listener of `key`; one that unsubscribes meanwhile is still called this once. */
  notify(key: string, change: Change): void {
    const set = this.byKey.get(key);
    if (!set) return;
    for (const listener of [...set]) listener(change);
  }

  /** Forgets every listener of `key`, after its last change. */
  drop(key: string): void {
    this.byKey.delete(key);
  }
}
