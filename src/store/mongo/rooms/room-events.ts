import type { Collection } from "mongodb";
import { MongoBulkWriteError } from "mongodb";
import type { RoomDocument, RoomEventDocument } from "./room-document.js";
import { eventId, pendingKey } from "./room-document.js";

/** The events of one room incarnation after `after`, up to and including `through`. */
export interface EventRange {
  readonly epoch: string;
  readonly after: number;
  readonly through: number;
}

const duplicateKey = 11000;

/** Reads the stored events of some ranges, in sequence order per room. */
export type EventReader = (ranges: readonly EventRange[]) => Promise<RoomEventDocument[]>;

/**
 * `range`: ONE query for every range, on the (epoch, sequence) index.
 * `by-id`: one lookup by `_id` per event, side by side, for FerretDB 1.x,
 * which evaluates every other filter by reading the whole collection.
 */
export function eventReader(events: Collection<RoomEventDocument>, lookup: "range" | "by-id"): EventReader {
  if (lookup === "range") {
    return async (ranges) => {
      if (ranges.length === 0) return [];
      const filter = { $or: ranges.map(({ epoch, after, through }) => ({ epoch, sequence: { $gt: after, $lte: through } })) };
      return events.find(filter).sort({ epoch: 1, sequence: 1 }).toArray();
    };
  }
  return async (ranges) => {
    const ids = ranges.flatMap(({ epoch, after, through }) => Array.from({ length: through - after }, (_, i) => eventId(epoch, after + 1 + i)));
    const found = await Promise.all(ids.map((_id) => events.findOne({ _id })));
    return found.filter((event): event is RoomEventDocument => event !== null);
  };
}

/** The part of (after, doc.sequence] that the document's `pending` does not hold; undefined when it holds all. */
export function missingRange(doc: RoomDocument, after: number): EventRange | undefined {
  for (let sequence = doc.sequence; sequence > after; sequence--) {
    if (!doc.pending[pendingKey(sequence)]) return { epoch: doc.epoch, after, through: sequence };
  }
  return undefined;
}

/**
 * The events of `doc` after `after`, each once and in order, from its
 * `pending` and from `stored` (read AFTER the document: see RoomDocument).
 * A trimmed event leaves a gap; see firstGap.
 */
export function eventsAfter(doc: RoomDocument, after: number, stored: readonly RoomEventDocument[]): RoomEventDocument[] {
  const bySequence = new Map<number, RoomEventDocument>();
  for (const event of [...stored, ...Object.values(doc.pending)]) {
    const wanted = event.epoch === doc.epoch && event.sequence > after && event.sequence <= doc.sequence;
    if (wanted && event.startOffset >= doc.backlogFrom) bySequence.set(event.sequence, event);
  }
  return [...bySequence.values()].sort((a, b) => a.sequence - b.sequence);
}

/** The first sequence in (after, through] missing from `events` (sorted), or undefined when none is. */
export function firstGap(events: readonly RoomEventDocument[], after: number, through: number): number | undefined {
  let expected = after + 1;
  for (const event of events) {
    if (event.sequence !== expected) return expected;
    expected++;
  }
  return expected <= through ? expected : undefined;
}

/**
 * Copies the events a document holds in `pending` into the events
 * collection (a copy already there is left alone), except those already
 * trimmed (startOffset below `keepFrom`).
 */
export async function copyPending(events: Collection<RoomEventDocument>, doc: RoomDocument, keepFrom: number): Promise<void> {
  const kept = Object.values(doc.pending).filter((event) => event.startOffset >= keepFrom);
  if (kept.length === 0) return;
  try {
    await events.insertMany(kept, { ordered: false });
  } catch (error) {
    const onlyCopies = error instanceof MongoBulkWriteError && [error.writeErrors].flat().every((e) => e.code === duplicateKey);
    if (!onlyCopies) throw error;
  }
}

/** Deletes the stored events of the room's incarnation that the backlog limit trimmed. */
export async function trimBacklog(events: Collection<RoomEventDocument>, epoch: string, below: number): Promise<void> {
  await events.deleteMany({ epoch, startOffset: { $lt: below } });
}
