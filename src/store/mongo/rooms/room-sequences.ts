import type { RoomDocument } from "./room-document.js";

export interface KnownSequence {
  readonly epoch: string;
  readonly sequence: number;
}

/**
 * The last sequence number this process read or wrote for recently used
 * rooms (at most `max`, the least recently noted forgotten first). A new
 * watch starts from it: the service reads a room (to check a session
 * token) before it watches it, so every event after that read reaches the
 * watcher, and few before it are fetched again.
 */
export class RoomSequences {
  private readonly rooms = new Map<string, KnownSequence>();

  constructor(private readonly max = 10_000) {}

  note(doc: Pick<RoomDocument, "_id" | "epoch" | "sequence">): void {
    const known = this.rooms.get(doc._id);
    if (known && known.epoch === doc.epoch && known.sequence >= doc.sequence) return;
    this.rooms.delete(doc._id);
    this.rooms.set(doc._id, { epoch: doc.epoch, sequence: doc.sequence });
    if (this.rooms.size > this.max) this.rooms.delete(this.rooms.keys().next().value!);
  }

  get(room: string): KnownSequence | undefined {
    return this.rooms.get(room);
  }
}
