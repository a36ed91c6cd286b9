import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type {
  GetRoomRequest,
  JoinRoomRequest,
  LeaveRoomRequest,
  RenewSessionRequest,
  SendMessageRequest,
  SessionCredentials,
  WatchRoomRequest,
} from "../../gen/signaling/v1/room_pb.js";
import { RoomService } from "../../gen/signaling/v1/room_pb.js";
import type { Clock } from "../lib/clock.js";
import { TimerWheel } from "../lib/timer-wheel.js";
import type { RoomState } from "../store/room.js";
import { findMember } from "../store/room.js";
import type { RoomLimits, RoomStore } from "../store/room-store.js";
import type { RoomServiceLimits } from "./limits.js";
import type { AuthorizedMember } from "./room-access.js";
import { authorizeMember } from "./room-access.js";
import { roomMessage } from "./room-convert.js";
import { roomError } from "./errors.js";
import {
  validBody,
  validDisplayName,
  validJoinSecret,
  validMessageKind,
  validRecipient,
  validRoomName,
  validSeats,
} from "./room-validation.js";
import { hashToken, newSessionId, newToken } from "./tokens.js";
import { watchRoomStream } from "./watch-room.js";
import { abandonStreamKey, StreamQueues } from "./stream-queue.js";
import { WatchSlots } from "./watch-slots.js";

export interface RoomServiceDeps {
  readonly store: RoomStore;
  readonly clock: Clock;
  readonly limits: RoomServiceLimits & Pick<RoomLimits, "sessionTimeoutMs" | "maxBacklogBytes">;
  /** The queues of the process's streams (shared with the other services); default limits when absent. */
  readonly streamQueues?: StreamQueues;
}

type Impl = ServiceImpl<typeof RoomService>;

/**
 * RoomService: validates each request, checks the session token, calls the
 * room store and shapes the response. Store failures become status codes
 * in one interceptor (src/server/pipeline/errors.ts).
 */
export class RoomHandlers implements Impl {
  readonly watchSlots: WatchSlots;
  private readonly keepAlive: TimerWheel;
  private readonly streamQueues: StreamQueues;

  constructor(private readonly deps: RoomServiceDeps) {
    this.streamQueues = deps.streamQueues ?? new StreamQueues();
    this.keepAlive = new TimerWheel(deps.clock, deps.limits.keepAliveIntervalMs);
    this.watchSlots = new WatchSlots({
      maxWatchStreams: deps.limits.maxWatchStreams,
      perKey: { max: deps.limits.maxWatchersPerSession, setting: "room-max-watchers-per-session" },
    });
  }

  async joinRoom(req: JoinRoomRequest) {
    const { store, limits } = this.deps;
    const room = validRoomName(req.room);
    const seats = validSeats(req.seats, limits);
    const displayName = validDisplayName(req.displayName);
    if (req.rejoin) {
      const { member, token } = await this.authorize(room, req.rejoin);
      const state = await store.renew(room, member.sessionId);
      return this.joined(state, member.sessionId, token);
    }
    const joinSecret = validJoinSecret(req.joinSecret);
    const token = newToken();
    const sessionId = newSessionId();
    const joinSecretHash = joinSecret === "" ? undefined : hashToken(joinSecret);
    const state = await store.join({ room, seats, sessionId, tokenHash: hashToken(token), displayName, joinSecretHash });
    return this.joined(state, sessionId, token);
  }

  async *watchRoom(req: WatchRoomRequest, ctx: HandlerContext) {
    const { member } = await this.authorize(req.room, req.session);
    const { store, clock, limits } = this.deps;
    const deps = {
      store,
      clock,
      slots: this.watchSlots,
      keepAlive: this.keepAlive,
      renewIntervalMs: Math.max(1, Math.floor(limits.sessionTimeoutMs / 3)),
      queues: this.streamQueues,
      backlogBytes: limits.maxBacklogBytes,
      abandon: ctx.values.get(abandonStreamKey),
    };
    yield* watchRoomStream(deps, req.room, member.sessionId, Number(req.afterSequence), ctx.signal);
  }

  async renewSession(req: RenewSessionRequest) {
    const { member } = await this.authorize(req.room, req.session);
    const state = await this.deps.store.renew(req.room, member.sessionId);
    const renewed = findMember(state, member.sessionId, this.deps.clock.now());
    if (!renewed) throw roomError("session-not-found", req.room);
    return { expireTime: timestampFromMs(renewed.expireTime) };
  }

  async sendMessage(req: SendMessageRequest) {
    const room = validRoomName(req.room);
    const messageKind = validMessageKind(req.kind);
    const body = validBody(req.body, this.deps.limits);
    const { member } = await this.authorize(room, req.session);
    const to = validRecipient(req.toSessionId, member.sessionId);
    const { sequence, recipients } = await this.deps.store.send({ room, from: member.sessionId, to, messageKind, body });
    return { sequence: BigInt(sequence), recipients };
  }

  async getRoom(req: GetRoomRequest) {
    const { state } = await this.authorize(req.room, req.session);
    return { room: roomMessage(state), sequence: BigInt(state.sequence) };
  }

  async leaveRoom(req: LeaveRoomRequest) {
    const { member } = await this.authorize(req.room, req.session);
    await this.deps.store.leave(req.room, member.sessionId);
    return {};
  }

  private authorize(room: string, session: SessionCredentials | undefined): Promise<AuthorizedMember> {
    return authorizeMember(this.deps.store, this.deps.clock, validRoomName(room), session);
  }

  private joined(state: RoomState, sessionId: string, token: string) {
    return {
      sessionId,
      sessionToken: token,
      room: roomMessage(state),
      sessionTimeout: durationFromMs(this.deps.limits.sessionTimeoutMs),
      sequence: BigInt(state.sequence),
    };
  }
}

/** The RoomService implementation to register on a router. */
export function createRoomService(deps: RoomServiceDeps): { impl: Impl; handlers: RoomHandlers } {
  const handlers = new RoomHandlers(deps);
  return { impl: handlers, handlers };
}
