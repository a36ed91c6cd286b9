import { Code, ConnectError } from "@connectrpc/connect";
import type { Transport } from "@connectrpc/connect";
import type { JoinRoomResponse, Member, WatchRoomResponse } from "../../gen/signaling/v1/room_pb.js";
import { Listeners } from "./listeners.js";
import { KeyedSerializer } from "../lib/keyed-serializer.js";
import { withRetries } from "./retry.js";
import { resumable } from "./resumable.js";
import type { RoomClient } from "./room-client.js";
import { createRoomClient } from "./room-client.js";
import type { LeaveReasonName, MessageKindName, RoomMember, RoomMessage } from "./room-model.js";
import { leaveReasonName, toMember, toMessage, toProtoKind } from "./room-model.js";
import type { ClientOptions } from "./transport.js";

/** A member's session: keep it secret; with it the same page (after a reload, say) can rejoin its seat. */
export interface RoomCredentials {
  readonly sessionId: string;
  readonly sessionToken: string;
}

/**
 * Why the session ended: this member left (leave() or the join's signal), the server ended it (it timed out
 * while this member could not reach the server, or it left from another tab), or it failed for good.
 */
export type RoomEndReason = "left" | "ended-by-server" | "failed";

export interface RoomEnd {
  readonly reason: RoomEndReason;
  /** Set unless reason is "left". */
  readonly error?: ConnectError;
}

export interface JoinRoomOptions {
  /** Seats of the room when this join creates it (up to the server's room-max-seats); unset: the server's default (2). */
  readonly seats?: number;
  /** The name the other members see; at most 64 bytes. */
  readonly displayName?: string;
  /**
   * The room's join secret: a join that creates the room sets it, every later join must give it (else
   * PERMISSION_DENIED). Share it with the room's name only with those who may join; at most 256 bytes.
   */
  readonly joinSecret?: string;
  /** Aborting it leaves the room, as leave() does. */
  readonly signal?: AbortSignal;
  /** Take back a seat this page held before (within the server's session timeout) instead of a new one. */
  readonly rejoin?: RoomCredentials;
  /** Transient failures in a row (dropped WatchRoom stream, failed send) survived before giving up. Default 8. */
  readonly maxRetries?: number;
}

const defaultMaxRetries = 8;

/**
 * One member's seat in a room. Holds a WatchRoom stream, which keeps the
 * member present and delivers who joins and leaves and the messages sent to
 * it; after a network cut it resumes the stream where it left off (same
 * session, nothing missed or repeated). It never polls. Build it with
 * joinRoom(), and register listeners right after: events are not replayed.
 */
export class RoomSession {
  /** Resolves once, when the session ends; never rejects. */
  readonly ended: Promise<RoomEnd>;
  private readonly current = new Map<string, RoomMember>();
  private readonly joins = new Listeners<[RoomMember]>();
  private readonly leaves = new Listeners<[RoomMember, LeaveReasonName]>();
  private readonly messages = new Listeners<[RoomMessage]>();
  private readonly abort = new AbortController();
  private readonly sends = new KeyedSerializer();
  private resolveEnded!: (end: RoomEnd) => void;
  private readonly maxRetries: number;
  private reconnectCount = 0;

  /** @internal Use joinRoom(). */
  constructor(
    private readonly client: RoomClient,
    readonly room: string,
    private readonly joined: JoinRoomResponse,
    options: Pick<JoinRoomOptions, "signal" | "maxRetries">,
  ) {
    this.maxRetries = options.maxRetries ?? defaultMaxRetries;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    options.signal?.addEventListener("abort", () => void this.leave().catch(() => {}), { once: true, signal: this.abort.signal });
    this.replaceMembers(joined.room?.members ?? []);
    void this.run(joined.sequence);
  }

  get sessionId(): string {
    return this.joined.sessionId;
  }

  /** This session's id and secret token, for JoinRoomOptions.rejoin. */
  get credentials(): RoomCredentials {
    return { sessionId: this.joined.sessionId, sessionToken: this.joined.sessionToken };
  }

  /** How many members the room holds at most. */
  get seats(): number {
    return this.joined.room?.seats ?? 0;
  }

  /** The members now, this one included, in the order they joined, by session id. Kept up to date. */
  get members(): ReadonlyMap<string, RoomMember> {
    return this.current;
  }

  /** How often the WatchRoom stream was resumed after a drop. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /** Calls `listener` for each member that joins after this one. Returns the function that unregisters it. */
  onJoin(listener: (member: RoomMember) => void): () => void {
    return this.joins.add(listener);
  }

  /** Calls `listener` for each other member that leaves, with why. */
  onLeave(listener: (member: RoomMember, reason: LeaveReasonName) => void): () => void {
    return this.leaves.add(listener);
  }

  /** Calls `listener` for each message sent to this member, or to every member. */
  onMessage(listener: (message: RoomMessage) => void): () => void {
    return this.messages.add(listener);
  }

  /**
   * Sends a message to one member (`to` is its session id) or, when `to` is
   * undefined, to every other member. Messages to the same recipient arrive
   * in the order send() was called. Resolves with the number of members it
   * was delivered to; rejects with NOT_FOUND when `to` is not in the room.
   */
  send(to: string | undefined, kind: MessageKindName, body: string): Promise<number> {
    const request = { room: this.room, session: this.credentials, toSessionId: to ?? "", kind: toProtoKind(kind), body };
    const { signal } = this.abort;
    return this.sends.run(to ?? "", async () => {
      const sent = await withRetries(() => this.client.sendMessage(request, { signal }), this.maxRetries, signal);
      return sent.recipients;
    });
  }

  /** Gives up the seat; the other members see this one leave. Stops the stream and every listener. */
  async leave(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.finish({ reason: "left" });
    try {
      await this.client.leaveRoom({ room: this.room, session: this.credentials });
    } catch (cause) {
      // Gone already (timed out, left from elsewhere) is what leave() wanted anyway.
      if (ConnectError.from(cause).code !== Code.NotFound) throw ConnectError.from(cause);
    }
  }

  private async run(after: bigint): Promise<void> {
    const { signal } = this.abort;
    let sequence = after;
    let resyncs = 0;
    const open = () => this.client.watchRoom({ room: this.room, session: this.credentials, afterSequence: sequence }, { signal });
    for (;;) {
      try {
        const stream = resumable(open, { maxRetries: this.maxRetries, signal, name: "WatchRoom", onReconnect: () => this.reconnectCount++ });
        for await (const message of stream) {
          if (message.sequence > sequence) sequence = message.sequence;
          resyncs = 0;
          this.apply(message);
          if (signal.aborted) return;
        }
        return;
      } catch (cause) {
        const error = ConnectError.from(cause);
        if (error.code === Code.FailedPrecondition && resyncs++ < this.maxRetries) {
          // The events this member missed are no longer kept: read the room as it is now and carry on from there.
          const resynced = await this.resync().catch((e: unknown) => this.fail(e));
          if (resynced === undefined) return;
          sequence = resynced;
          continue;
        }
        const reason = error.code === Code.NotFound ? "ended-by-server" : "failed";
        return this.finish({ reason, error });
      }
    }
  }

  private async resync(): Promise<bigint> {
    const { signal } = this.abort;
    const now = await withRetries(() => this.client.getRoom({ room: this.room, session: this.credentials }, { signal }), this.maxRetries, signal);
    this.replaceMembers(now.room?.members ?? [], true);
    return now.sequence;
  }

  private apply({ event }: WatchRoomResponse): void {
    switch (event.case) {
      case "snapshot":
        return this.replaceMembers(event.value.members, true);
      case "memberJoined":
        return event.value.member ? this.addMember(toMember(event.value.member)) : undefined;
      case "memberLeft":
        return this.removeMember(event.value.sessionId, leaveReasonName(event.value.reason));
      case "message":
        return this.messages.emit(toMessage(event.value));
    }
  }

  /** Sets the member list; with `announce`, tells the listeners who is new and who is gone. */
  private replaceMembers(members: readonly Member[], announce = false): void {
    const next = new Set(members.map((m) => m.sessionId));
    for (const id of [...this.current.keys()]) {
      if (!next.has(id)) announce ? this.removeMember(id, "left") : this.current.delete(id);
    }
    for (const member of members) {
      if (announce) this.addMember(toMember(member));
      else this.current.set(member.sessionId, toMember(member));
    }
  }

  private addMember(member: RoomMember): void {
    if (this.current.has(member.sessionId)) return;
    this.current.set(member.sessionId, member);
    this.joins.emit(member);
  }

  private removeMember(sessionId: string, reason: LeaveReasonName): void {
    const member = this.current.get(sessionId);
    if (!member) return;
    this.current.delete(sessionId);
    if (sessionId === this.sessionId) {
      const error = new ConnectError(`this member's session in room ${this.room} ended (${reason})`, Code.NotFound);
      return this.finish({ reason: "ended-by-server", error });
    }
    this.leaves.emit(member, reason);
  }

  private fail(cause: unknown): undefined {
    this.finish({ reason: "failed", error: ConnectError.from(cause) });
    return undefined;
  }

  private finish(end: RoomEnd): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    for (const listeners of [this.joins, this.leaves, this.messages]) listeners.clear();
    this.resolveEnded(end);
  }
}

/**
 * Takes a seat in the room named `room` (creating the room if needed) and
 * starts watching it. Rejects with RESOURCE_EXHAUSTED when every seat is
 * taken, FAILED_PRECONDITION when `seats` differs from the existing room's.
 */
export async function joinRoom(client: ClientOptions | Transport | RoomClient, room: string, options: JoinRoomOptions = {}): Promise<RoomSession> {
  const rooms = createRoomClient(client);
  const { signal } = options;
  signal?.throwIfAborted();
  const request = { room, seats: options.seats ?? 0, displayName: options.displayName ?? "", rejoin: options.rejoin, joinSecret: options.joinSecret ?? "" };
  const joined = await rooms.joinRoom(request, { signal });
  return new RoomSession(rooms, room, joined, options);
}
