import { Code, ConnectError } from "@connectrpc/connect";
import type { Channel, SessionDescription, WatchChannelResponse } from "../../gen/signaling/v1/signaling_pb.js";
import { Side } from "../../gen/signaling/v1/signaling_pb.js";
import { toBrowserCandidate, toBrowserDescription, toProtoCandidate, toProtoDescription } from "./convert.js";
import { CandidateOutbox } from "./outbox.js";
import { RemoteCandidates } from "./remote-candidates.js";
import type { IceAccess } from "./ice-servers.js";
import type { SignalingClient } from "./transport.js";
import { resumableWatch } from "./watch.js";

export type Role = "offerer" | "answerer";

/** Why signaling ended: this side called close(), the peer closed the channel, it expired, or it failed for good. */
export type EndReason = "closed" | "closed-by-peer" | "expired" | "failed";

export interface SessionEnd {
  readonly reason: EndReason;
  /** Set when reason is "failed". */
  readonly error?: ConnectError;
}

export interface SessionOptions {
  /** Transient failures in a row (dropped watch stream, failed candidate send) survived before the session fails. Default 8. */
  readonly maxRetries?: number;
  /**
   * STUN/TURN servers to add to the peer connection once this side holds its channel token, before ICE gathering
   * starts; typically `(access) => fetchIceServers(transport, access)`, since the service hands out TURN credentials
   * only to token holders. The offerer asks right after CreateChannel; the answerer right after SetAnswer (it sends
   * the answer before applying it, so gathering waits for the servers).
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
   * Offerer: creates a channel, sets the peer connection's offer on it and
   * starts trickling. Create the data channels or add the tracks first.
   * Resolves once the offer is stored; share `channelId` with the answerer.
   */
  static async create(client: SignalingClient, pc: RTCPeerConnection, options: CreateOptions = {}): Promise<SignalingSession> {
    const ttl = options.ttlSeconds === undefined ? undefined : { seconds: BigInt(Math.round(options.ttlSeconds)) };
    const created = await client.createChannel({ ttl });
    const session = new SignalingSession(client, pc, created.channelId, "offerer", options);
    session.useToken(created.offererToken);
    try {
      await session.addIceServers({ channelId: created.channelId, token: created.offererToken });
      await pc.setLocalDescription(await pc.createOffer());
      const offer = toProtoDescription(pc.localDescription!, "offer");
      await client.setOffer({ channelId: created.channelId, token: created.offererToken, offer });
    } catch (error) {
      await session.close().catch(() => {});
      throw ConnectError.from(error);
    }
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
    pc.addEventListener(
      "icecandidate",
      ({ candidate }) => {
        if (!candidate) this.outbox.push("end");
        else if (candidate.candidate !== "") this.outbox.push(toProtoCandidate(candidate.toJSON()));
      },
      { signal: this.abort.signal },
    );
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
    // The answer goes out before it is applied: applying it starts ICE gathering, which should already use the
    // servers that only the answerer's token (from SetAnswer) can fetch. createAnswer's SDP is the one applied.
    const created = await this.pc.createAnswer();
    const answer = toProtoDescription(created, "answer");
    const { answererToken } = await this.client.setAnswer({ channelId: this.channelId, answer }, { signal: this.abort.signal });
    this.useToken(answererToken);
    await this.addIceServers({ channelId: this.channelId, token: answererToken });
    await this.pc.setLocalDescription(created);
    this.answered?.resolve();
  }

  /** Adds the servers `options.iceServers` gives for this side's token to the peer connection. */
  private async addIceServers(access: IceAccess): Promise<void> {
    if (!this.iceServersFor) return;
    const servers = await this.iceServersFor(access);
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
