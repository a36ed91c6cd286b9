import type { ConnectError } from "@connectrpc/connect";
import { createContextKey } from "@connectrpc/connect";
import { limitExceeded } from "./limit-error.js";

/** How much one server-streaming response may have waiting for its client, and all of them together. */
export interface StreamQueueLimits {
  /** Bytes of messages one stream may hold unsent (`stream-max-queued-bytes`). */
  readonly maxQueuedBytes: number;
  /** Messages one stream may hold unsent (`stream-max-queued-messages`). */
  readonly maxQueuedMessages: number;
  /** Bytes every stream of the process may hold unsent together (`stream-max-queued-bytes-total`). */
  readonly maxQueuedBytesTotal: number;
  /**
   * How long a stream that overflowed may take to deliver its ending (its client reading on to the
   * RESOURCE_EXHAUSTED status) before it is cut at the transport (`stream-overflow-grace-ms`; see abandonStreamKey).
   * 15 s when unset.
   */
  readonly overflowGraceMs?: number;
}

export const defaultStreamQueueLimits: StreamQueueLimits = {
  maxQueuedBytes: 1024 * 1024,
  maxQueuedMessages: 1000,
  maxQueuedBytesTotal: 256 * 1024 * 1024,
  overflowGraceMs: 15_000,
};

/**
 * How to cut a call's stream at the transport, set per call by the server that serves it: on HTTP/2
 * RST_STREAM ENHANCE_YOUR_CALM (which gRPC and Connect clients read as RESOURCE_EXHAUSTED), on HTTP/1.1
 * closing the connection. A queue that overflowed uses it when its client does not even take the
 * ending within the grace period: a client that never reads again then holds nothing, not even its slot.
 */
export const abandonStreamKey = createContextKey<(() => void) | undefined>(undefined, {
  description: "cuts the call's stream at the transport",
});

/**
 * The queues of every stream in a process: their limits and the bytes they
 * hold together. Make one per process and share it between services.
 */
export class StreamQueues {
  private heldBytes = 0;

  constructor(readonly limits: StreamQueueLimits = defaultStreamQueueLimits) {}

  /** Bytes every queue holds now. */
  get queuedBytes(): number {
    return this.heldBytes;
  }

  /**
   * A queue for one stream. `sizeOf` gives an item's bytes as the client
   * would receive it (roughly).
   */
  create<T>(what: string, sizeOf: (item: T) => number, options: QueueOptions<T> = {}): StreamQueue<T> {
    return new StreamQueue(this, what, sizeOf, options);
  }

  /** @internal */
  take(bytes: number, force: boolean): boolean {
    if (!force && this.heldBytes + bytes > this.limits.maxQueuedBytesTotal) return false;
    this.heldBytes += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.heldBytes -= bytes;
  }
}

export interface QueueOptions<T> {
  /** Whether a new item replaces the last one waiting (where only the newer state matters). */
  readonly supersedes?: (next: T, last: T) => boolean;
  /** A lower byte bound for this queue than the process's `maxQueuedBytes`. */
  readonly maxQueuedBytes?: number;
  /** Cuts the stream at the transport (the call's abandonStreamKey value). */
  readonly abandon?: (() => void) | undefined;
}

interface Held<T> {
  item: T;
  bytes: number;
}

/**
 * The messages one server-streaming response has waiting for its client.
 * Producers push from store callbacks; the stream takes them one at a time,
 * and only as fast as the client reads: Connect (and any route that serves
 * streams) asks the handler for its next message only once the previous one
 * was written out (`write()` returned true or `drain` fired), so the queue is
 * where the messages of a client that stops reading pile up.
 *
 * It is bounded: past `maxQueuedMessages`, `maxQueuedBytes` or the process's
 * `maxQueuedBytesTotal`, the queue overflows: it drops everything it holds,
 * ignores later pushes, calls `onOverflow` (to unsubscribe from the store at
 * once) and `next()` fails with RESOURCE_EXHAUSTED naming the setting. The
 * client then resumes from the last version or sequence it received, so it
 * loses nothing. One item is always accepted into an empty queue, whatever
 * its size, so a single large message never overflows a stream.
 */
export class StreamQueue<T> {
  private readonly items: Held<T>[] = [];
  private head = 0;
  private bytes = 0;
  private waiter: { resolve: (item: T) => void; reject: (error: unknown) => void } | undefined;
  private failure: ConnectError | undefined;
  private overflowListener: (() => void) | undefined;
  private abandonTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: StreamQueues,
    private readonly what: string,
    private readonly sizeOf: (item: T) => number,
    private readonly options: QueueOptions<T>,
  ) {}

  /** Items waiting. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Bytes waiting. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Why the queue overflowed, once it has. */
  get overflow(): ConnectError | undefined {
    return this.failure;
  }

  /** Called once, when the queue overflows. */
  onOverflow(listener: () => void): void {
    this.overflowListener = listener;
  }

  push(item: T): void {
    if (this.failure) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve(item);
      return;
    }
    const last = this.size > 0 ? this.items[this.items.length - 1]! : undefined;
    if (last && this.options.supersedes?.(item, last.item)) {
      const bytes = this.sizeOf(item);
      this.release(last.bytes);
      this.pool.take(bytes, true);
      this.bytes += bytes;
      last.item = item;
      last.bytes = bytes;
      return;
    }
    const bytes = this.sizeOf(item);
    const { maxQueuedMessages, maxQueuedBytesTotal } = this.pool.limits;
    const maxQueuedBytes = Math.min(this.pool.limits.maxQueuedBytes, this.options.maxQueuedBytes ?? Infinity);
    const first = this.size === 0;
    if (!first && this.size >= maxQueuedMessages) {
      return this.overflowWith(
        "stream-max-queued-messages",
        `this ${this.what} stream fell ${maxQueuedMessages} messages behind (stream-max-queued-messages): read faster, then resume from the last one received`,
      );
    }
    if (!first && this.bytes + bytes > maxQueuedBytes) {
      return this.overflowWith(
        "stream-max-queued-bytes",
        `this ${this.what} stream fell more than ${maxQueuedBytes} bytes behind (stream-max-queued-bytes): read faster, then resume from the last message received`,
      );
    }
    if (!this.pool.take(bytes, first)) {
      return this.overflowWith(
        "stream-max-queued-bytes-total",
        `the server holds its maximum of ${maxQueuedBytesTotal} bytes for slow streams (stream-max-queued-bytes-total): resume from the last message received`,
      );
    }
    this.bytes += bytes;
    this.items.push({ item, bytes });
  }

  /** The next item; fails with the overflow error, or with the signal's reason when it aborts first. */
  next(signal: AbortSignal): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.size > 0) {
      const held = this.items[this.head]!;
      this.items[this.head++] = undefined as never;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.head = 0;
      }
      this.release(held.bytes);
      return Promise.resolve(held.item);
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.waiter = undefined;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiter = {
        resolve: (item) => {
          signal.removeEventListener("abort", onAbort);
          resolve(item);
        },
        reject,
      };
    });
  }

  /** Gives back what the queue holds; call when the stream ends. */
  close(): void {
    // An overflowed stream keeps its grace timer: its ending may still be waiting behind what the client has
    // not read, and the transport must be cut if the client does not read on (the cut is a no-op once it has).
    if (!this.failure) clearTimeout(this.abandonTimer);
    this.clear();
  }

  private overflowWith(setting: string, message: string): void {
    this.failure = limitExceeded(setting, message);
    this.clear();
    this.overflowListener?.();
    const abandon = this.options.abandon;
    if (abandon) {
      this.abandonTimer = setTimeout(abandon, this.pool.limits.overflowGraceMs ?? defaultStreamQueueLimits.overflowGraceMs);
      this.abandonTimer.unref();
    }
  }

  private clear(): void {
    this.release(this.bytes);
    this.items.length = 0;
    this.head = 0;
  }

  private release(bytes: number): void {
    this.bytes -= bytes;
    this.pool.give(bytes);
  }
}
