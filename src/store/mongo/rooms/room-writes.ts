import type { Collection } from "mongodb";
import { MongoServerError } from "mongodb";
import type { RoomDraft } from "../../room-rules.js";
import { RoomStoreError } from "../../room-store.js";
import { LimitedInserts } from "../deployment/limited-insert.js";
import type { Fence, LeaseLock } from "../deployment/write-lock.js";
import type { RoomDocument } from "./room-document.js";
import { newRoomDocument, pendingEvents, roomFields } from "./room-document.js";

const duplicateKey = 11000;

/** Writes the draft if the document is still the one it was made from; null when another writer came first. */
export function compareAndSet(rooms: Collection<RoomDocument>, doc: RoomDocument, draft: RoomDraft, keepUntil: Date, fence: Fence): Promise<RoomDocument | null> {
  const added = Object.fromEntries(Object.entries(pendingEvents(draft, doc.epoch, keepUntil)).map(([key, event]) => [`pending.${key}`, event]));
  const copied = Object.fromEntries(Object.keys(doc.pending).map((key) => [`pending.${key}`, "" as const]));
  return rooms.findOneAndUpdate(
    { _id: doc._id, epoch: doc.epoch, revision: doc.revision, ...fence.filter },
    { $set: { ...roomFields(draft), revision: doc.revision + 1, ...added, ...fence.set }, ...(Object.keys(copied).length > 0 && { $unset: copied }) },
    { returnDocument: "after" },
  );
}

/** Where new rooms go, counted against max-rooms exactly across processes (limited-insert.ts). */
export function roomLimit(rooms: Collection<RoomDocument>, maxRooms: number, gate: LeaseLock, now: () => number): LimitedInserts<RoomDocument> {
  return new LimitedInserts({
    collection: rooms,
    counted: () => ({ expireAt: { $gt: new Date(now()) } }),
    max: maxRooms,
    gate,
    refused: (room) => new RoomStoreError("room-limit", room, `the store holds its maximum of ${maxRooms} rooms`),
  });
}

/** Creates the room within max-rooms; null when another process created it first (the caller reads it and joins that one). */
export async function insertRoom(creates: LimitedInserts<RoomDocument>, draft: RoomDraft, epoch: string, keepUntil: Date, fence: Fence): Promise<RoomDocument | null> {
  const doc = { ...newRoomDocument(draft, epoch, keepUntil), ...fence.set };
  try {
    await creates.insert(doc);
    return doc;
  } catch (error) {
    if (error instanceof MongoServerError && error.code === duplicateKey) return null;
    throw error;
  }
}
