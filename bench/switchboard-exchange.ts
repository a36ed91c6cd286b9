import * as http from "node:http";
import type { Client } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import type { WatchChannelResponse } from "../gen/signaling/v1/signaling_pb.js";
import { SdpType, Side, SignalingService } from "../gen/signaling/v1/signaling_pb.js";
import { deferred, withDeadline } from "./lib/deferred.js";
import { createLeanConnectTransport } from "./lib/lean-connect-transport.js";
import { createLeanGrpcTransport } from "./lib/lean-grpc-transport.js";
import { answerSdp, candidate, candidatesPerSide, offerSdp } from "./lib/payloads.js";
import { RelayClock } from "./lib/relay-clock.js";

export type Protocol = "grpc" | "connect";
export type SignalingClient = Client<typeof SignalingService>;

const keepAliveAgent = new http.Agent({ keepAlive: true });

/**
 * One peer's client: gRPC over its own HTTP/2 connection, or Connect
 * (binary) over HTTP/1.1 keep-alive connections, as a browser without TLS
 * would use; both with the lean transports (bench/lib), so the load
 * generator's core is not what saturates.
 */
export function peerClient(protocol: Protocol, baseUrl: string): SignalingClient {
  const transport =
    protocol === "grpc"
      ? createLeanGrpcTransport(baseUrl)
      : createLeanConnectTransport(baseUrl, keepAliveAgent);
  return createClient(SignalingService, transport);
}

export interface PeerPair {
  readonly offerer: SignalingClient;
  readonly answerer: SignalingClient;
}

export const exchangeTimeoutMs = 15_000;

type RemoteSide = "offerer" | "answerer";

/** Follows a channel from one peer's side until it has learned the other side's description, candidates and end-of-candidates. */
/** `token`: the offerer's, so its watch sees the answer side (tokenless watchers see only the offer side). */
function follow(client: SignalingClient, channelId: string, remote: RemoteSide, clock: RelayClock, signal: AbortSignal, token = "") {
  const description = deferred();
  const learned = deferred();
  const remoteSide = remote === "offerer" ? Side.OFFERER : Side.ANSWERER;
  const descriptionKind = remote === "offerer" ? "offer" : "answer";
  let hasDescription = false;
  let candidates = 0;
  let complete = false;
  const check = () => {
    if (hasDescription) description.resolve();
    if (hasDescription && candidates >= candidatesPerSide && complete) learned.resolve();
  };
  const apply = (message: WatchChannelResponse) => {
    const event = message.event;
    switch (event.case) {
      case "snapshot": {
        const channel = event.value;
        hasDescription ||= channel[descriptionKind] !== undefined;
        candidates += (remote === "offerer" ? channel.offererCandidates : channel.answererCandidates).length;
        complete ||= remote === "offerer" ? channel.offererCandidatesComplete : channel.answererCandidatesComplete;
        break;
      }
      case "offer":
      case "answer":
        if (event.case === descriptionKind) {
          hasDescription = true;
          clock.received(descriptionKind);
        }
        break;
      case "iceCandidateAdded":
        if (event.value.side === remoteSide) {
          candidates++;
          clock.received(`${remote}:${event.value.candidate?.candidate}`);
        }
        break;
      case "iceCandidatesComplete":
        if (event.value.side === remoteSide) {
          complete = true;
          clock.received(`${remote}:end`);
        }
        break;
    }
    check();
  };
  const ended = (async () => {
    for await (const message of client.watchChannel({ channelId, token }, { signal })) {
      apply(message);
      const last = message.event.case;
      if (last === "exchangeComplete" || last === "channelClosed" || last === "channelExpired") break;
    }
    const error = new Error(`the watch of channel ${channelId} ended before the ${remote}'s data arrived`);
    description.reject(error);
    learned.reject(error);
  })();
  ended.catch((error: unknown) => {
    description.reject(error);
    learned.reject(error);
  });
  return { description: description.promise, learned: learned.promise, ended };
}

/**
 * How an exchange is made. `short`: the offer with the offerer's candidates
 * and end-of-candidates on CreateChannel, the answer with the answerer's on
 * SetAnswer, the two watch streams ending by themselves: 4 calls. The older
 * shapes, kept for comparison, create, set the offer, send the candidates
 * and close: `batch` sends each side's candidates and end-of-candidates in
 * one AddIceCandidates call (8 calls); `single` sends one AddIceCandidate call
 * each (16 calls).
 */
export type CandidateMode = "short" | "batch" | "single";

const candidatesOf = (side: RemoteSide) => Array.from({ length: candidatesPerSide }, (_, n) => candidate(side, n));

async function trickle(client: SignalingClient, channelId: string, token: string, side: RemoteSide, mode: CandidateMode, clock: RelayClock, signal: AbortSignal) {
  const candidates = candidatesOf(side);
  for (const value of candidates) clock.sending(`${side}:${value.candidate}`);
  if (mode === "batch") {
    clock.sending(`${side}:end`);
    await client.addIceCandidates({ channelId, token, candidates, endOfCandidates: true }, { signal });
    return;
  }
  await Promise.all(candidates.map((value) => client.addIceCandidate({ channelId, token, item: { case: "candidate", value } }, { signal })));
  clock.sending(`${side}:end`);
  await client.addIceCandidate({ channelId, token, item: { case: "endOfCandidates", value: true } }, { signal });
}

/**
 * The time to live of each exchange's channel. The default (300 s) would keep every finished channel of a
 * run at 1,000+ exchanges/s for five minutes: 300,000 of them, past max-channels (100,000); a browser's
 * exchange is over in seconds.
 */
export const exchangeTtlSeconds = 30;
const ttl = { seconds: BigInt(exchangeTtlSeconds) };

/**
 * One complete exchange: an offer, an answer, 4 candidates and
 * end-of-candidates per side (sent as `mode` says), each side learning the
 * other's data through WatchChannel; done when both watch streams have ended.
 */
export function switchboardExchange(pair: PeerPair, relaySamples?: number[], mode: CandidateMode = "short"): Promise<void> {
  const clock = new RelayClock(relaySamples);
  if (mode === "short") return shortExchange(pair, clock);
  return withDeadline(exchangeTimeoutMs, async (signal) => {
    const { offerer, answerer } = pair;
    const { channelId, offererToken } = await offerer.createChannel({ ttl }, { signal });
    const offererView = follow(offerer, channelId, "answerer", clock, signal, offererToken);
    const answererView = follow(answerer, channelId, "offerer", clock, signal);
    const answererSide = (async () => {
      await answererView.description;
      clock.sending("answer");
      const { answererToken } = await answerer.setAnswer(
        { channelId, answer: { type: SdpType.ANSWER, sdp: answerSdp } },
        { signal },
      );
      await trickle(answerer, channelId, answererToken, "answerer", mode, clock, signal);
      await answererView.learned;
    })();
    answererSide.catch(() => {});
    clock.sending("offer");
    await offerer.setOffer({ channelId, token: offererToken, offer: { type: SdpType.OFFER, sdp: offerSdp } }, { signal });
    await trickle(offerer, channelId, offererToken, "offerer", mode, clock, signal);
    await Promise.all([offererView.learned, answererSide]);
    await offerer.closeChannel({ channelId, token: offererToken }, { signal });
    await Promise.all([offererView.ended, answererView.ended]);
  });
}

/** The 4-call exchange: both descriptions carry their side's candidates, and the streams end with exchange_complete. */
function shortExchange(pair: PeerPair, clock: RelayClock): Promise<void> {
  return withDeadline(exchangeTimeoutMs, async (signal) => {
    const { offerer, answerer } = pair;
    const sending = (side: RemoteSide, kind: string, candidates: { candidate: string }[]) => {
      clock.sending(kind);
      for (const value of candidates) clock.sending(`${side}:${value.candidate}`);
      clock.sending(`${side}:end`);
    };
    const offererCandidates = candidatesOf("offerer");
    sending("offerer", "offer", offererCandidates);
    const offer = { type: SdpType.OFFER, sdp: offerSdp };
    const created = await offerer.createChannel({ ttl, offer, offererCandidates, offererEndOfCandidates: true }, { signal });
    const { channelId, offererToken } = created;
    const offererView = follow(offerer, channelId, "answerer", clock, signal, offererToken);
    const answererView = follow(answerer, channelId, "offerer", clock, signal);
    await answererView.description;
    const answererCandidates = candidatesOf("answerer");
    sending("answerer", "answer", answererCandidates);
    const answer = { type: SdpType.ANSWER, sdp: answerSdp };
    await answerer.setAnswer({ channelId, answer, candidates: answererCandidates, endOfCandidates: true }, { signal });
    await Promise.all([offererView.learned, answererView.learned, offererView.ended, answererView.ended]);
  });
}
