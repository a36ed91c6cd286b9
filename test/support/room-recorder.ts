import { StreamQueues } from "../../src/service/stream-queue.js";
import type { RoomEvent } from "../../src/store/room.js";
import type { RoomChange, RoomStore } from "../../src/store/room-store.js";
import type { Unsubscribe } from "../../src/store/store.js";

/** Watches a room and hands out its changes in order, waiting for the next one when none is there yet. */
export class RoomRecorder {
  private readonly changes = new StreamQueues({ maxQueuedBytes: Infinity, maxQueuedMessages: Infinity, maxQueuedBytesTotal: Infinity }).create<RoomChange>(
    "recorder",
    () => 0,
  );
  private readonly never = new AbortController().signal;
  readonly unsubscribe: Unsubscribe;

  constructor(store: RoomStore, room: string) {
    this.unsubscribe = store.watchRoom(room, (change) => this.changes.push(change));
  }

  next(): Promise<RoomChange> {
    return this.changes.next(this.never);
  }

  /** The next `count` events; fails on a change that is not an event. */
  async events(count: number): Promise<RoomEvent[]> {
    const out: RoomEvent[] = [];
    while (out.length < count) {
      const change = await this.next();
      if (change.kind !== "event") throw new Error(`expected an event, got ${change.kind}: ${change.error.message}`);
      out.push(change.event);
    }
    return out;
  }

  /** How many changes arrived and were not taken yet. */
  get pending(): number {
    return this.changes.size;
  }
}
