/**
 * Callbacks called together, once, with one reason (a shutdown, the end of a
 * grace period). Adding and removing a callback costs O(1). An AbortSignal
 * shared by every call does not: Node's EventTarget scans its listener list
 * on each add and remove, so n calls each adding and later removing one
 * listener cost O(n²); with 20,000 watch streams, cancelling them all at once
 * froze the process for 30 s or more.
 */
export class Broadcast<R> {
  private readonly listeners = new Set<(reason: R) => void>();
  private fired: { readonly reason: R } | undefined;

  /** Callbacks waiting for `fire`. */
  get size(): number {
    return this.listeners.size;
  }

  get hasFired(): boolean {
    return this.fired !== undefined;
  }

  /**
   * Calls `listener` when `fire` is called (at once when it already was);
   * the returned function removes it.
   */
  add(listener: (reason: R) => void): () => void {
    if (this.fired) {
      listener(this.fired.reason);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls every callback added so far (and any added later) with `reason`; only the first call counts. */
  fire(reason: R): void {
    if (this.fired) return;
    this.fired = { reason };
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener(reason);
  }
}
