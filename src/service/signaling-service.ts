import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type {
  AddIceCandidateRequest,
  AddIceCandidatesRequest,
  CloseChannelRequest,
  CreateChannelRequest,
  GetAnswerRequest,
  GetChannelRequest,
  GetOfferRequest,
  IceCandidate,
  ListIceCandidatesRequest,
  SetAnswerRequest,
  SetOfferRequest,
  WatchChannelRequest,
} from "../../gen/signaling/v1/signaling_pb.js";
import { SdpType, SignalingService } from "../../gen/signaling/v1/signaling_pb.js";
import type { Clock } from "../lib/clock.js";
import type { MaybePromise } from "../lib/maybe-promise.js";
import { andThen } from "../lib/maybe-promise.js";
import { TimerWheel } from "../lib/timer-wheel.js";
import type { CandidateBatch, ChannelState, Side } from "../store/channel.js";
import type { ChannelStore } from "../store/store.js";
import { addCandidate, completeCandidates } from "../store/store.js";
import { answerMessage, candidateMessages, channelMessage, offerMessage, protoSide } from "./convert.js";
import { clientAddressKey } from "./call-context.js";
import { answerSide, authorize, liveChannel, publicView, visibleChannel } from "./channel-access.js";
import { invalidArgument } from "./errors.js";
import type { IceConfig } from "./ice-service.js";
import { iceServersFor } from "./ice-service.js";
import type { SignalingLimits } from "./limits.js";
import { hashToken, newChannelId, newToken } from "./tokens.js";
import { validCandidate, validChannelId, validDescription, validSide, validTtlMs } from "./validation.js";
import { watchChannelStream } from "./watch-channel.js";
import type { WatchResponseInit } from "./convert.js";
import { abandonStreamKey, StreamQueues } from "./stream-queue.js";
import type { PerKeyLimit } from "./watch-slots.js";
import { WatchSlots } from "./watch-slots.js";

export interface SignalingServiceDeps {
  readonly store: ChannelStore;
  readonly clock: Clock;
  readonly limits: SignalingLimits;
  /** The queues of the process's streams (shared with the other services); default limits when absent. */
  readonly streamQueues?: StreamQueues;
  /** The ICE servers CreateChannel hands the offerer (with TURN credentials bound to the channel); none when absent. */
  readonly ice?: IceConfig;
}

type Impl = ServiceImpl<typeof SignalingService>;

/**
 * SignalingService: validates each request, checks its token, calls the
 * store and shapes the response. Store failures become status codes in
 * errors.ts.
 */
export class SignalingHandlers implements Impl {
  readonly watchSlots: WatchSlots;
  private readonly keepAlive: TimerWheel;
  private readonly streamQueues: StreamQueues;
  private readonly tokenlessLimit: PerKeyLimit;

  constructor(private readonly deps: SignalingServiceDeps) {
    this.streamQueues = deps.streamQueues ?? new StreamQueues();
    this.watchSlots = new WatchSlots({
      maxWatchStreams: deps.limits.maxWatchStreams,
      perKey: { max: deps.limits.maxWatchersPerChannel, setting: "max-watchers-per-channel" },
    });
    this.tokenlessLimit = { max: deps.limits.maxTokenlessWatchersPerClient, setting: "max-tokenless-watchers-per-client" };
    this.keepAlive = new TimerWheel(deps.clock, deps.limits.keepAliveIntervalMs);
  }

  // createChannel, setOffer, addIceCandidate(s) and closeChannel chain their steps with andThen, not await: with
  // the memory store (which answers synchronously) a call runs through without a promise or microtask per step.

  createChannel(req: CreateChannelRequest) {
    const ttlMs = validTtlMs(req.ttl, this.deps.limits);
    const candidates = this.validCandidates(req.offererCandidates, req.offererEndOfCandidates, "offerer_candidates");
    if (!req.offer && (candidates.batch.length > 0 || candidates.complete)) {
      throw invalidArgument("offerer_candidates", "candidates and end-of-candidates ride only together with offer");
    }
    const offer = req.offer && { sdp: validDescription("offer", req.offer, SdpType.OFFER, this.deps.limits), candidates };
    const token = newToken();
    const now = this.deps.clock.now();
    const created = this.deps.store.createChannel({
      id: newChannelId(),
      offererTokenHash: hashToken(token),
      createTime: now,
      expireTime: now + ttlMs,
      ...(offer && { offer }),
    });
    return andThen(created, (state) => ({
      channelId: state.id,
      offererToken: token,
      expireTime: timestampFromMs(state.expireTime),
      version: state.version,
      ...this.iceServers(state.id),
    }));
  }

  setOffer(req: SetOfferRequest) {
    const channelId = validChannelId(req.channelId);
    const sdp = validDescription("offer", req.offer, SdpType.OFFER, this.deps.limits);
    const candidates = this.validCandidates(req.candidates, req.endOfCandidates);
    return andThen(this.authorize(channelId, req.token, "offerer"), () =>
      andThen(this.deps.store.setOffer(channelId, sdp, candidates), (state) => ({ version: state.version })),
    );
  }

  async getOffer(req: GetOfferRequest) {
    const { sdp, version } = this.readDescription(await this.liveChannel(req.channelId), "offer");
    return { offer: offerMessage(sdp), version };
  }

  async setAnswer(req: SetAnswerRequest) {
    const channelId = validChannelId(req.channelId);
    const sdp = validDescription("answer", req.answer, SdpType.ANSWER, this.deps.limits);
    const candidates = this.validCandidates(req.candidates, req.endOfCandidates);
    const token = newToken();
    const state = await this.deps.store.setAnswer(channelId, sdp, hashToken(token), candidates);
    return { answererToken: token, version: state.version, ...this.iceServers(channelId) };
  }

  async getAnswer(req: GetAnswerRequest) {
    const state = await answerSide(this.deps.store, req.channelId, req.token);
    const { sdp, version } = this.readDescription(state, "answer");
    return { answer: answerMessage(sdp), version };
  }

  addIceCandidate(req: AddIceCandidateRequest) {
    const channelId = validChannelId(req.channelId);
    const item = req.item;
    if (item.case === undefined) {
      throw new ConnectError("set exactly one of candidate and end_of_candidates", Code.InvalidArgument);
    }
    if (item.case === "endOfCandidates" && !item.value) {
      throw new ConnectError("end_of_candidates: must be true when set", Code.InvalidArgument);
    }
    const candidate = item.case === "candidate" ? validCandidate(item.value, this.deps.limits) : undefined;
    return andThen(this.authorize(channelId, req.token), ({ side }) =>
      andThen(
        candidate ? addCandidate(this.deps.store, channelId, side, candidate) : completeCandidates(this.deps.store, channelId, side),
        ({ state, changed }) => ({ side: protoSide(side), added: changed, version: state.version }),
      ),
    );
  }

  addIceCandidates(req: AddIceCandidatesRequest) {
    const channelId = validChannelId(req.channelId);
    if (req.candidates.length === 0 && !req.endOfCandidates) {
      throw invalidArgument("candidates", "is empty and end_of_candidates is false: nothing to add");
    }
    const { batch } = this.validCandidates(req.candidates, req.endOfCandidates);
    return andThen(this.authorize(channelId, req.token), ({ side }) =>
      andThen(this.deps.store.addCandidates(channelId, side, batch, req.endOfCandidates), (result) => ({
        side: protoSide(side),
        addedCandidates: result.added,
        markedComplete: result.completed,
        version: result.state.version,
      })),
    );
  }

  async listIceCandidates(req: ListIceCandidatesRequest) {
    const side = validSide(req.side);
    const state = side === "answerer" ? await answerSide(this.deps.store, req.channelId, req.token) : await this.liveChannel(req.channelId);
    return {
      candidates: candidateMessages(state.candidates[side]),
      complete: state.candidatesComplete[side] !== undefined,
      version: state.version,
    };
  }

  async getChannel(req: GetChannelRequest) {
    const state = await visibleChannel(this.deps.store, req.channelId, req.token);
    return { channel: channelMessage(state) };
  }

  /**
   * Not a generator of its own (checks run inside watchChannelStream's, through `admit`): a `yield*` stage
   * here would hold one more suspended frame for as long as each stream is open.
   */
  watchChannel(req: WatchChannelRequest, ctx: HandlerContext): AsyncIterable<WatchResponseInit> {
    const channelId = req.channelId;
    // A token holder takes one of the channel's slots and sees everything; anyone else counts against its own
    // address and sees the offer side, so knowing a channel id is not enough to take its slots or read its answer.
    const holder = req.token !== "";
    const admit = async () => {
      validChannelId(channelId);
      if (holder) await this.authorize(channelId, req.token);
    };
    const deps = { store: this.deps.store, slots: this.watchSlots, keepAlive: this.keepAlive, queues: this.streamQueues, abandon: ctx.values.get(abandonStreamKey) };
    const slot = holder
      ? { key: `channel ${channelId}` }
      : { key: `client ${ctx.values.get(clientAddressKey)}`, limit: this.tokenlessLimit };
    return watchChannelStream(deps, channelId, req.afterVersion, ctx.signal, { slot, view: holder ? undefined : publicView, admit });
  }

  closeChannel(req: CloseChannelRequest) {
    const channelId = validChannelId(req.channelId);
    return andThen(this.authorize(channelId, req.token), ({ side }) => andThen(this.deps.store.closeChannel(channelId, side), () => ({})));
  }

  /**
   * What GetIceServers would give a new token holder of the channel (TURN credentials bound to its id), for the
   * responses that hand out a token, so the peer needs no extra call before it starts gathering.
   */
  private iceServers(channelId: string) {
    if (!this.deps.ice) return {};
    const { iceServers, expireTime } = iceServersFor(this.deps.ice, this.deps.clock, channelId);
    return { iceServers, iceServersExpireTime: expireTime };
  }

  /** A request's candidates (each checked, named by its index) and end-of-candidates flag. */
  private validCandidates(candidates: readonly IceCandidate[], complete: boolean, field = "candidates"): CandidateBatch {
    return { batch: candidates.map((candidate, i) => validCandidate(candidate, this.deps.limits, `${field}[${i}]`)), complete };
  }

  /** The offer or answer; FAILED_PRECONDITION while the channel has none yet. */
  private readDescription(state: ChannelState, which: "offer" | "answer"): { sdp: string; version: number } {
    const description = state[which];
    if (!description) {
      const writer = which === "offer" ? "offerer" : "answerer";
      throw new ConnectError(
        `channel ${state.id} has no ${which} yet; watch the channel (WatchChannel) to learn when the ${writer} sets it`,
        Code.FailedPrecondition,
      );
    }
    return { sdp: description.value, version: state.version };
  }

  private liveChannel(channelId: string): MaybePromise<ChannelState> {
    return liveChannel(this.deps.store, channelId);
  }

  private authorize(channelId: string, token: string, onlySide?: Side): MaybePromise<{ state: ChannelState; side: Side }> {
    return authorize(this.deps.store, channelId, token, onlySide);
  }
}

/** The SignalingService implementation to register on a router. */
export function createSignalingService(deps: SignalingServiceDeps): { impl: Impl; handlers: SignalingHandlers } {
  const handlers = new SignalingHandlers(deps);
  return { impl: handlers, handlers };
}
