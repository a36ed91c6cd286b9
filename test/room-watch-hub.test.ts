import { describe, expect, it } from "vitest";
import type { RoomEvent } from "../src/store/room.js";
import type { RoomChange } from "../src/store/room-store.js";
import type { RoomDocument, RoomEventDocument } from "../src/store/mongo/rooms/room-document.js";
import { eventId, pendingKey } from "../src/store/mongo/rooms/room-document.js";
import type { EventRange } from "../src/store/mongo/rooms/room-events.js";
import { RoomSequences } from "../src/store/mongo/rooms/room-sequences.js";
import { RoomWatchHub } from "../src/store/mongo/rooms/room-watch-hub.js";
import { RecordingLogger } from "./support/mongo-options.js";

const epoch = "e1";

function stored(sequence: number): RoomEventDocument {
  const event: RoomEvent = { kind: "left", sequence, sessionId: `s${sequence}`, reason: "left" };
  return { _id: eventId(epoch, sequence), epoch, sequence, event, startOffset: sequence * 64, expireAt: new Date(0) };
}

/** A room document at `sequence` whose `pending` holds the events `inPending`. */
function roomAt(sequence: number, inPending: number[], backlogFrom = 0): RoomDocument {
  return {
    _id: "r",
    epoch,
    seats: 2,
    members: [],
    sequence,
    revision: sequence,
    pending: Object.fromEntries(inPending.map((n) => [pendingKey(n), stored(n)])),
    appendedBytes: (sequence + 1) * 64,
    backlogFrom,
    nextExpireAt: null,
    expireAt: new Date(8.64e15),
  };
}

/** A hub over an events collection holding `kept`, recording what it was asked for. */
function hubWith(kept: number[], known?: number) {
  const asked: EventRange[][] = [];
  const read = async (ranges: readonly EventRange[]) => {
    asked.push([...ranges]);
    return kept.filter((n) => ranges.some((r) => n > r.after && n <= r.through)).map(stored);
  };
  const sequences = new RoomSequences();
  if (known !== undefined) sequences.note({ _id: "r", epoch, sequence: known });
  const hub = new RoomWatchHub(read, sequences, new RecordingLogger());
  const changes: RoomChange[] = [];
  hub.add("r", (change) => changes.push(change));
  const sequencesSeen = () => changes.map((c) => (c.kind === "event" ? c.event.sequence : c.error.reason));
  return { hub, asked, sequencesSeen };
}

describe("RoomWatchHub", () => {
  it("starts after the sequence this process last saw, takes pending events from the document and the rest in one read", async () => {
    const { hub, asked, sequencesSeen } = hubWith([3, 4, 5], 2);
    await hub.deliver([roomAt(7, [6, 7])]);
    expect(sequencesSeen()).toEqual([3, 4, 5, 6, 7]);
    expect(asked).toEqual([[{ epoch, after: 2, through: 5 }]]);
  });

  it("hands each event over once, whatever order and how often documents arrive", async () => {
    const { hub, sequencesSeen } = hubWith([1, 2, 3, 4], 0);
    await Promise.all([hub.deliver([roomAt(5, [5])]), hub.deliver([roomAt(3, [3])]), hub.deliver([roomAt(5, [5])]), hub.deliver([roomAt(6, [6])])]);
    expect(sequencesSeen()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("ends a watch with events-trimmed when events it was owed are no longer kept", async () => {
    const { hub, sequencesSeen } = hubWith([1, 2], 0);
    await hub.deliver([roomAt(2, [])]);
    // Events 3 to 5 were trimmed before this process read them.
    await hub.deliver([roomAt(7, [7], 6 * 64)]);
    expect(sequencesSeen()).toEqual([1, 2, "events-trimmed"]);
    expect(hub.size).toBe(0);
  });

  it("lets a new watch start at the first event still kept (it reads what came before itself)", async () => {
    const { hub, sequencesSeen } = hubWith([5, 6], 1);
    await hub.deliver([roomAt(7, [7], 5 * 64)]);
    expect(sequencesSeen()).toEqual([5, 6, 7]);
  });

  it("ends a watch with room-not-found when its room was deleted and created again", async () => {
    const { hub, sequencesSeen } = hubWith([], 0);
    await hub.deliver([roomAt(1, [1])]);
    await hub.deliver([{ ...roomAt(1, []), epoch: "e2" }]);
    expect(sequencesSeen()).toEqual([1, "room-not-found"]);
  });
});
