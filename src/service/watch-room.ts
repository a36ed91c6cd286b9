import type { Cancel, Clock } from "../lib/clock.js";
import type { TimerWheel } from "../lib/timer-wheel.js";
import type { RoomEvent } from "../store/room.js";
import { isFor, roomEventBytes } from "../store/room.js";
import type { RoomChange, RoomStore } from "../store/room-store.js";
import { invalidArgument } from "./errors.js";
import { keepAlive, KeepAliveTimer } from "./keep-alive.js";
import type { WatchRoomResponseInit } from "./room-convert.js";
import { roomEventMessage, roomMessage } from "./room-convert.js";
import { roomError } from "./errors.js";
import type { StreamQueues } from "./stream-queue.js";
import type { WatchSlots } from "./watch-slots.js";

export interface WatchRoomDeps {
  readonly store: RoomStore;
  readonly clock: Clock;
  readonly slots: WatchSlots;
  /** Every stream's keep-alive timer runs on this one wheel. */
  readonly keepAlive: TimerWheel;
  /** How often an open stream renews its member's seat; well below the session timeout. */
  readonly renewIntervalMs: number;
  /** Bounds what the stream holds for a client that reads slower than the room's events arrive. */
  readonly queues: StreamQueues;
  /**
   * Bytes of events the room store keeps for members that resume (room-max-backlog-bytes). A stream
   * holds at most half of it, so a member whose stream overflows finds what it missed still kept.
   */
  readonly backlogBytes: number;
  /** Cuts this stream at the transport (see abandonStreamKey). */
  readonly abandon?: (() => void) | undefined;
}

/** A renewal made for the stream failed: the session ended elsewhere or the store failed. */
interface RenewFailed {
  readonly kind: "renew-failed";
  readonly error: unknown;
}

/**
 * The messages of one WatchRoom stream for one member. It subscribes before
 * it reads the room and sends only sequences above the last one handled, so
 * an event landing between the read and the subscription is neither lost
 * nor doubled. While open it renews the member's seat; when it closes it
 * renews once more, so the seat is kept for a whole session timeout after
 * a dropped connection.
 */
export async function* watchRoomStream(
  deps: WatchRoomDeps,
  room: string,
  sessionId: string,
  afterSequence: number,
  signal: AbortSignal,
): AsyncGenerator<WatchRoomResponseInit> {
  const { store, clock } = deps;
  const release = deps.slots.acquire(`session ${sessionId}`);
  // An event counts its text only when this member receives it; others' private messages count their overhead.
  const eventBytes = (item: RoomChange | RenewFailed | typeof keepAlive) =>
    item !== keepAlive && item.kind === "event" && isFor(item.event, sessionId) ? roomEventBytes(item.event) : 64;
  const queue = deps.queues.create<RoomChange | RenewFailed | typeof keepAlive>("WatchRoom", eventBytes, {
    maxQueuedBytes: Math.floor(deps.backlogBytes / 2),
    abandon: deps.abandon,
  });
  const unsubscribe = store.watchRoom(room, (change) => queue.push(change));
  // A stream that overflowed holds no slot while its client is given the grace to read on to its status.
  queue.onOverflow(() => {
    unsubscribe();
    release();
  });
  const idle = new KeepAliveTimer(deps.keepAlive, () => queue.push(keepAlive));
  let cancelRenew: Cancel = () => {};
  // Rescheduled before the renewal is sent, so a slow store never stretches the interval.
  const scheduleRenew = () => {
    cancelRenew = clock.schedule(deps.renewIntervalMs, () => {
      scheduleRenew();
      store.renew(room, sessionId).catch((error: unknown) => queue.push({ kind: "renew-failed", error }));
    });
  };
  let sessionEnded = false;
  let handled = afterSequence;
  try {
    const state = await store.renew(room, sessionId);
    scheduleRenew();
    if (afterSequence === 0) {
      yield { sequence: BigInt(state.sequence), event: { case: "snapshot", value: roomMessage(state) } };
      handled = state.sequence;
    } else {
      if (afterSequence > state.sequence) {
        throw invalidArgument("after_sequence", `room ${room} is at sequence ${state.sequence}, not yet at ${afterSequence}`);
      }
      for (const event of await store.eventsSince(room, afterSequence)) {
        const message = handle(event);
        if (message) yield message;
      }
    }
    for (;;) {
      idle.arm();
      const next = await queue.next(signal);
      if (next === keepAlive) {
        yield { sequence: BigInt(handled), event: { case: "keepAlive", value: {} } };
      } else if (next.kind === "event") {
        const message = handle(next.event);
        if (message) yield message;
      } else {
        sessionEnded = true;
        throw next.error;
      }
    }
  } finally {
    cancelRenew();
    idle.cancel();
    unsubscribe();
    queue.close();
    if (!sessionEnded) store.renew(room, sessionId).catch(() => {});
    release();
  }

  /** The message for `event`, if it is new and for this member; throws NOT_FOUND at the member's own departure. */
  function handle(event: RoomEvent): WatchRoomResponseInit | undefined {
    if (event.sequence <= handled) return undefined;
    handled = event.sequence;
    if (event.kind === "left" && event.sessionId === sessionId) {
      sessionEnded = true;
      throw roomError("session-not-found", room);
    }
    return isFor(event, sessionId) ? roomEventMessage(event) : undefined;
  }
}
