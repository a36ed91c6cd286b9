/**
 * An unbounded queue that one consumer awaits. Producers push from
 * callbacks; the consumer's wait ends early when its AbortSignal fires.
 */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T) => void) | undefined;

  /** Items pushed and not taken yet. */
  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter(item);
    } else {
      this.items.push(item);
    }
  }

  next(signal: AbortSignal): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.waiter = undefined;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiter = (item) => {
        signal.removeEventListener("abort", onAbort);
        resolve(item);
      };
    });
  }
}
