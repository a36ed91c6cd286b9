import type { NewMember, NewMessage, RoomEvent, RoomState } from "./room.js";
import type { StoreHealth, Unsubscribe } from "./store.js";

/**
 * Where rooms live. Every mutation is atomic across every process sharing
 * the store: it applies whole, appending its event with the room's next
 * sequence number, or fails with a RoomStoreError and changes nothing.
 *
 * The store frees the seat of every member past its expire time and appends
 * exactly one `left` event with reason `timed-out` for it, also when several
 * processes share the store. A room without members is deleted once its last
 * member's session timeout has passed.
 */
export interface RoomStore {
  /**
   * Seats a new member, creating the room if needed, and appends its
   * `joined` event. Fails with `room-full`, `seats-mismatch`,
   * `join-secret-mismatch` or `room-limit`. A join that creates the room
   * gives it the join's secret (its hash), for good.
   */
  join(member: NewMember): Promise<RoomState>;
  /**
   * Extends a present member's seat by the session timeout from now and
   * returns the room. Fails with `room-not-found` or `session-not-found`.
   */
  renew(room: string, sessionId: string): Promise<RoomState>;
  /** Frees a seat and appends a `left` event (reason `left`). Fails with `room-not-found` or `session-not-found`. */
  leave(room: string, sessionId: string): Promise<void>;
  /**
   * Appends a message event and returns its sequence number and the number
   * of present members it is for. Fails with `room-not-found`,
   * `session-not-found` (the sender is no longer a member) or
   * `recipient-not-found`.
   */
  send(message: NewMessage): Promise<{ readonly sequence: number; readonly recipients: number }>;
  /** The room with its present members, or undefined when it does not exist. */
  getRoom(room: string): Promise<RoomState | undefined>;
  /**
   * The room's events after `sequence`, in order. Fails with `room-not-found`,
   * or `events-trimmed` when some of them are no longer kept (events are
   * kept for at least the session timeout, within the backlog limit).
   */
  eventsSince(room: string, sequence: number): Promise<readonly RoomEvent[]>;
  /**
   * Calls `listener` with every later event of the room, in sequence order,
   * until the returned function is called. Events appended through other
   * processes sharing the store arrive too.
   */
  watchRoom(room: string, listener: RoomListener): Unsubscribe;
  /** Releases timers and connections. */
  close(): Promise<void>;
  /** Whether the store can serve now, for gRPC health; a store without it is always ready. */
  health?(): Promise<StoreHealth>;
  /** What the store holds now, for metrics (a shared store counts every process's rooms). */
  stats?(): Promise<RoomStoreStats>;
}

export interface RoomStoreStats {
  /** Rooms held, empty ones awaiting deletion included. */
  readonly rooms: number;
  /** Members whose seat has not timed out, over all rooms. */
  readonly members: number;
}

export type RoomChange =
  | { readonly kind: "event"; readonly event: RoomEvent }
  /** The store can no longer tell this watcher about events; the watch must end with the error. */
  | { readonly kind: "failed"; readonly error: RoomStoreError };

export type RoomListener = (change: RoomChange) => void;

/** Limits a room store enforces inside its atomic updates. */
export interface RoomLimits {
  /** Seats of a room created without a seat count. */
  readonly defaultSeats: number;
  /** How long a member keeps its seat without renewing, in milliseconds. */
  readonly sessionTimeoutMs: number;
  /** Rooms held at once; more are refused with `room-limit`. */
  readonly maxRooms: number;
  /**
   * Bytes of events a room keeps for reconnecting members, each counted by
   * roomEventBytes (its text plus a fixed overhead); the oldest are trimmed first.
   */
  readonly maxBacklogBytes: number;
}

export type RoomStoreFailure =
  | "room-not-found"
  | "session-not-found"
  | "recipient-not-found"
  | "room-full"
  | "seats-mismatch"
  | "join-secret-mismatch"
  | "room-limit"
  | "events-trimmed"
  | "unavailable";

/** Why a room store call failed. The service layer turns it into a status code. */
export class RoomStoreError extends Error {
  constructor(
    readonly reason: RoomStoreFailure,
    readonly room: string,
    detail?: string,
  ) {
    super(detail ?? `${reason}: room ${room}`);
    this.name = "RoomStoreError";
  }
}
