import { Code, ConnectError } from "@connectrpc/connect";
import type { Channel, SessionDescription, WatchChannelResponse } from "../../gen/signaling/v1/signaling_pb.js";
import { Side } from "../../gen/signaling/v1/signaling_pb.js";
import { toBrowserCandidate, toBrowserDescription, toProtoCandidate, toProtoDescription } from "./convert.js";
import type { OutgoingCandidate } from "./outbox.js";
import { CandidateOutbox, riding } from "./outbox.js";
import { RemoteCandidates } from "./remote-candidates.js";
import type { IceServer } from "../../gen/signaling/v1/ice_pb.js";
import type { IceAccess } from "./ice-servers.js";
import { toRtcIceServers } from "./ice-servers.js";
import type { SignalingClient } from "./transport.js";
import { resumableWatch } from "./watch.js";

export type Role = "offerer" | "answerer";

/**
 * Why signaling ended: the exchange is complete (both descriptions and every candidate went through; nothing to
 * close), this side called close(), the peer closed the channel, it expired, or it failed for good.
 */
export type EndReason = "complete" | "closed" | "closed-by-peer" | "expired" | "failed";

export interface SessionEnd {
  readonly reason: EndReason;
  /** Set when reason is "failed". */
  readonly error?: ConnectError;
}

export interface SessionOptions {
  /** Transient failures in a row (dropped watch stream, failed candidate send) survived before the session fails. Default 8. */
  readonly maxRetries?: number;
  /**
   * Use ICE servers given once this side holds its channel token, before ICE gathering starts; typically
   * `(access) => fetchIceServers(transport, access)`, since the service hands out TURN credentials only to token
   * holders. The service's servers come with the token itself (CreateChannel and SetAnswer return them, minted for
   * the channel), so with a service that has ICE servers configured this function is not called and the exchange
   * takes no extra call; it is called, with the channel and the token, when the response carried none (a service
   * without ICE servers, or an older one), e.g. for servers of your own. Each side sends its description as
   * created (createOffer/createAnswer need no ICE servers) and applies it once the servers are in the
   * configuration, since gathering starts at setLocalDescription: its candidates then all trickle.
   */
  readonly iceServers?: (access: IceAccess) => Promise<RTCIceServer[]>;
}

export interface CreateOptions extends SessionOptions {
  /** The channel's time to live in seconds; unset: the server's default (clamped to its range). */
  readonly ttlSeconds?: number;
}

const defaultMaxRetries = 8;

/**
 * Signaling for one RTCPeerConnection through one channel: sends the local
 * description and trickles local ICE candidates as they are gathered, applies
 * the remote ones as WatchChannel delivers them. Build it with
 * createChannel() or joinChannel(). It never touches the peer connection
 * after it ends, and never closes it: that is the application's call.
 */
export class SignalingSession {
  /** Resolves once, when signaling ends; never rejects. */
  readonly ended: Promise<SessionEnd>;
  /**
   * Resolves once this side's candidates and end-of-candidates are stored and the peer's end-of-candidates has
   * arrived: nothing more will pass through the channel, so close() frees it without cutting the peer off.
   * Stays pending if the session ends first or the peer never finishes gathering.
   */
  readonly candidatesExchanged: Promise<void>;
  private peerFinished!: () => void;
  private readonly abort = new AbortController();
  private readonly remote: RemoteCandidates;
  private readonly outbox: CandidateOutbox;
  private readonly maxRetries: number;
  private token: string | undefined;
  private resolveEnded!: (end: SessionEnd) => void;
  private answered: { resolve: () => void; reject: (error: ConnectError) => void } | undefined;
  private reconnectCount = 0;
  private readonly iceServersFor: ((access: IceAccess) => Promise<RTCIceServer[]>) | undefined;

  /**
   * Offerer: creates a channel with the peer connection's offer (and the
   * candidates gathered so far) in one call and starts trickling the rest.
   * Create the data channels or add the tracks first. Resolves once the
   * channel is created; share `channelId` with the answerer.
   */
  static async create(client: SignalingClient, pc: RTCPeerConnection, options: CreateOptions = {}): Promise<SignalingSession> {
    const ttl = options.ttlSeconds === undefined ? undefined : { seconds: BigInt(Math.round(options.ttlSeconds)) };
    if (options.iceServers) return SignalingSession.createBeforeGathering(client, pc, ttl, options);
    const early = gatherUntilSessionExists(pc);
    let created;
    let sentEarly;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      const offer = toProtoDescription(pc.localDescription!, "offer");
      sentEarly = riding(early.take());
      created = await client.createChannel({ ttl, offer, offererCandidates: sentEarly.candidates, offererEndOfCandidates: sentEarly.endOfCandidates });
    } catch (error) {
      early.take();
      early.stop();
      throw ConnectError.from(error);
    }
    const session = new SignalingSession(client, pc, created.channelId, "offerer", options);
    early.stop();
    for (const item of early.take()) session.outbox.push(item);
    session.outbox.sentWith(sentEarly);
    session.useToken(created.offererToken);
    void session.run(created.version);
    return session;
  }

  /**
   * The offerer when `options.iceServers` is set: the servers must be in the configuration before gathering starts
   * (at setLocalDescription), and the service mints TURN credentials for a channel. createOffer needs no ICE
   * servers, so its offer still rides on CreateChannel (without candidates: none are gathered yet); the servers
   * CreateChannel returns are applied, then the offer, and the candidates trickle. Still one call.
   */
  private static async createBeforeGathering(
    client: SignalingClient,
    pc: RTCPeerConnection,
    ttl: { seconds: bigint } | undefined,
    options: CreateOptions,
  ): Promise<SignalingSession> {
    let created;
    let offer;
    try {
      offer = await pc.createOffer();
      created = await client.createChannel({ ttl, offer: toProtoDescription(offer, "offer") });
    } catch (error) {
      throw ConnectError.from(error);
    }
    const { channelId, offererToken: token } = created;
    const session = new SignalingSession(client, pc, channelId, "offerer", options);
    try {
      await session.addIceServers(created.iceServers, { channelId, token });
      await pc.setLocalDescription(offer);
    } catch (error) {
      session.token = token;
      await session.close().catch(() => {});
      throw ConnectError.from(error);
    }
    session.useToken(token);
    void session.run(created.version);
    return session;
  }

  /**
   * Answerer: joins the channel, answers its offer (waiting for the offer
   * if the offerer has not set it yet) and starts trickling. Resolves once
   * the answer is stored; rejects with ALREADY_EXISTS when someone else
   * answered first, NOT_FOUND when the channel is gone.
   */
  static async join(client: SignalingClient, pc: RTCPeerConnection, channelId: string, options: SessionOptions = {}): Promise<SignalingSession> {
    const session = new SignalingSession(client, pc, channelId, "answerer", options);
    const answered = new Promise<void>((resolve, reject) => (session.answered = { resolve, reject }));
    void session.run(0);
    await answered;
    return session;
  }

  private constructor(
    private readonly client: SignalingClient,
    private readonly pc: RTCPeerConnection,
    readonly channelId: string,
    readonly role: Role,
    options: SessionOptions,
  ) {
    this.maxRetries = options.maxRetries ?? defaultMaxRetries;
    this.iceServersFor = options.iceServers;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.remote = new RemoteCandidates(pc);
    this.outbox = new CandidateOutbox(client, channelId, this.maxRetries, this.abort.signal, (e) => this.fail(e));
    const peerDone = new Promise<void>((resolve) => (this.peerFinished = resolve));
    this.candidatesExchanged = Promise.all([this.outbox.allSent, peerDone]).then(() => {});
    onLocalCandidate(pc, (item) => this.outbox.push(item), this.abort.signal);
  }

  /** How often the WatchChannel stream was resumed after a drop. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /** Closes the channel for both sides (CloseChannel) and stops signaling. The peer connection stays open. */
  async close(): Promise<void> {
    if (this.abort.signal.aborted) return;
    const token = this.token;
    this.finish({ reason: "closed" });
    if (token === undefined) return;
    try {
      await this.client.closeChannel({ channelId: this.channelId, token });
    } catch (cause) {
      // Already gone (closed by the peer, expired) is what close() wanted anyway.
      if (ConnectError.from(cause).code !== Code.NotFound) throw ConnectError.from(cause);
    }
  }

  private useToken(token: string): void {
    this.token = token;
    this.outbox.start(token);
  }

  private fail(cause: unknown): void {
    this.finish({ reason: "failed", error: ConnectError.from(cause) });
  }

  private async run(afterVersion: number): Promise<void> {
    const stream = resumableWatch(this.client, this.channelId, {
      afterVersion,
      maxRetries: this.maxRetries,
      signal: this.abort.signal,
      onReconnect: () => this.reconnectCount++,
      // The offerer needs its token to see the answer side; the answerer's view (the offer side) needs none.
      token: () => this.token,
    });
    try {
      for await (const message of stream) {
        if (this.abort.signal.aborted) return;
        await this.apply(message);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private async apply(message: WatchChannelResponse): Promise<void> {
    const { event } = message;
    const remoteSide = this.role === "offerer" ? Side.ANSWERER : Side.OFFERER;
    switch (event.case) {
      case "snapshot":
        return this.applySnapshot(event.value);
      case "offer":
        return this.role === "answerer" ? this.onRemoteDescription(event.value) : undefined;
      case "answer":
        return this.role === "offerer" ? this.onRemoteDescription(event.value) : undefined;
      case "iceCandidateAdded":
        if (event.value.side === remoteSide && event.value.candidate) {
          await this.remote.add(toBrowserCandidate(event.value.candidate));
        }
        return;
      case "iceCandidatesComplete":
        return event.value.side === remoteSide ? this.onRemoteComplete() : undefined;
      case "channelClosed": {
        const mine = event.value.closedBy === (this.role === "offerer" ? Side.OFFERER : Side.ANSWERER);
        return this.finish({ reason: mine ? "closed" : "closed-by-peer" });
      }
      case "channelExpired":
        return this.finish({ reason: "expired" });
      case "exchangeComplete":
        return this.finish({ reason: "complete" });
    }
  }

  private async applySnapshot(channel: Channel): Promise<void> {
    const offerer = this.role === "offerer";
    const description = offerer ? channel.answer : channel.offer;
    if (description) await this.onRemoteDescription(description);
    for (const candidate of offerer ? channel.answererCandidates : channel.offererCandidates) {
      await this.remote.add(toBrowserCandidate(candidate));
    }
    if (offerer ? channel.answererCandidatesComplete : channel.offererCandidatesComplete) await this.onRemoteComplete();
  }

  private async onRemoteComplete(): Promise<void> {
    await this.remote.add(null);
    this.peerFinished();
  }

  private async onRemoteDescription(description: SessionDescription): Promise<void> {
    if (this.pc.remoteDescription) return; // renegotiation is not part of this SDK
    await this.pc.setRemoteDescription(toBrowserDescription(description));
    await this.remote.remoteDescriptionSet();
    if (this.role === "answerer") await this.sendAnswer();
  }

  private async sendAnswer(): Promise<void> {
    if (this.iceServersFor) {
      // The servers come with the answerer's token (SetAnswer) and ICE gathering starts when the answer is applied:
      // so the answer goes out before it is applied (createAnswer's SDP is the one applied), with no candidates yet.
      const created = await this.pc.createAnswer();
      const answer = toProtoDescription(created, "answer");
      const answered = await this.client.setAnswer({ channelId: this.channelId, answer }, { signal: this.abort.signal });
      const answererToken = answered.answererToken;
      await this.addIceServers(answered.iceServers, { channelId: this.channelId, token: answererToken });
      await this.pc.setLocalDescription(created);
      this.useToken(answererToken);
      this.answered?.resolve();
      return;
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    const answer = toProtoDescription(this.pc.localDescription!, "answer");
    // What was gathered so far rides on the answer; the rest trickles once the token is known.
    const sentEarly = this.outbox.takePending();
    const { answererToken } = await this.client.setAnswer({ channelId: this.channelId, answer, ...sentEarly }, { signal: this.abort.signal });
    this.outbox.sentWith(sentEarly);
    this.useToken(answererToken);
    this.answered?.resolve();
  }

  /**
   * Adds this side's ICE servers to the peer connection: those the response that gave it its token carried
   * (minted for this channel), or, when it carried none, those `options.iceServers` gives for the token.
   */
  private async addIceServers(given: readonly IceServer[], access: IceAccess): Promise<void> {
    if (!this.iceServersFor) return;
    const servers = given.length > 0 ? toRtcIceServers(given) : await this.iceServersFor(access);
    const configuration = this.pc.getConfiguration();
    this.pc.setConfiguration({ ...configuration, iceServers: [...(configuration.iceServers ?? []), ...servers] });
  }

  private finish(end: SessionEnd): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    this.answered?.reject(end.error ?? new ConnectError(`channel ${this.channelId} ended (${end.reason}) before it was answered`, Code.NotFound));
    this.resolveEnded(end);
  }
}

/**
 * Collects the local candidates gathered from now on, until the session that
 * will send them exists (the offerer's channel id comes with CreateChannel).
 */
function gatherUntilSessionExists(pc: RTCPeerConnection): { take(): OutgoingCandidate[]; stop(): void } {
  let gathered: OutgoingCandidate[] = [];
  const stop = new AbortController();
  onLocalCandidate(pc, (item) => gathered.push(item), stop.signal);
  return {
    take: () => {
      const taken = gathered;
      gathered = [];
      return taken;
    },
    stop: () => stop.abort(),
  };
}

/** Calls `push` with each local candidate as it is gathered, and "end" at end-of-candidates, until `signal` aborts. */
function onLocalCandidate(pc: RTCPeerConnection, push: (item: OutgoingCandidate) => void, signal: AbortSignal): void {
  pc.addEventListener(
    "icecandidate",
    ({ candidate }) => {
      if (!candidate) push("end");
      else if (candidate.candidate !== "") push(toProtoCandidate(candidate.toJSON()));
    },
    { signal },
  );
}
