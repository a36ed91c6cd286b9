import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { deferred, withDeadline } from "./lib/deferred.js";
import { answerSdp, candidate, candidatesPerSide, offerSdp } from "./lib/payloads.js";
import { RelayClock } from "./lib/relay-clock.js";

/** A message of the PeerJS server's WebSocket protocol; the server fills in `src` and relays it to `dst`. */
interface PeerMessage {
  readonly type: string;
  readonly src?: string;
  readonly dst?: string;
  readonly payload?: { readonly connectionId?: string; readonly candidate?: { readonly candidate: string } };
}

type Handler = (message: PeerMessage) => void;

/** One PeerJS peer: a WebSocket registered under an id, as the `peerjs` browser client opens it. */
export class PeerSocket {
  private handler: Handler | undefined;

  private constructor(
    readonly id: string,
    private readonly ws: WebSocket,
  ) {
    ws.on("message", (data: Buffer) => this.handler?.(JSON.parse(data.toString()) as PeerMessage));
  }

  static open(baseUrl: string, signal?: AbortSignal): Promise<PeerSocket> {
    const id = randomUUID();
    const url = `${baseUrl}/peerjs?key=peerjs&id=${id}&token=${randomUUID().slice(0, 8)}&version=1.5.4`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      const fail = (error: unknown) => {
        ws.terminate();
        reject(error);
      };
      signal?.addEventListener("abort", () => fail(signal.reason), { once: true });
      ws.once("error", fail);
      ws.once("message", (data: Buffer) => {
        const message = JSON.parse(data.toString()) as PeerMessage;
        if (message.type !== "OPEN") return fail(new Error(`PeerJS server refused peer ${id}: ${data.toString()}`));
        ws.off("error", fail);
        ws.on("error", () => {});
        resolve(new PeerSocket(id, ws));
      });
    });
  }

  send(message: PeerMessage): void {
    this.ws.send(JSON.stringify(message));
  }

  onMessage(handler: Handler | undefined): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }
}

type SideName = "offerer" | "answerer";

function sendCandidates(from: PeerSocket, to: string, side: SideName, connectionId: string, clock: RelayClock): void {
  for (let n = 0; n < candidatesPerSide; n++) {
    const value = candidate(side, n);
    clock.sending(`${side}:${value.candidate}`);
    from.send({ type: "CANDIDATE", dst: to, payload: { candidate: value, connectionId, type: "data" } as never });
  }
  // The browser's end-of-candidates is a candidate with an empty string; sent so both systems relay the same count.
  clock.sending(`${side}:end`);
  from.send({ type: "CANDIDATE", dst: to, payload: { candidate: { candidate: "", sdpMid: "0", sdpMLineIndex: 0 }, connectionId, type: "data" } as never });
}

/** Resolves once a peer has the other side's description and all its candidates including the end marker. */
function learner(peer: PeerSocket, remote: SideName, connectionId: string, clock: RelayClock, onDescription: () => void) {
  const learned = deferred();
  const descriptionType = remote === "offerer" ? "OFFER" : "ANSWER";
  let hasDescription = false;
  let candidates = 0;
  peer.onMessage((message) => {
    if (message.payload?.connectionId !== connectionId) return;
    if (message.type === descriptionType) {
      hasDescription = true;
      clock.received(remote === "offerer" ? "offer" : "answer");
      onDescription();
    } else if (message.type === "CANDIDATE") {
      const text = message.payload.candidate?.candidate ?? "";
      clock.received(text === "" ? `${remote}:end` : `${remote}:${text}`);
      candidates++;
    } else if (message.type === "EXPIRE" || message.type === "LEAVE" || message.type === "ERROR") {
      learned.reject(new Error(`PeerJS server sent ${message.type} to ${peer.id}`));
    }
    if (hasDescription && candidates >= candidatesPerSide + 1) learned.resolve();
  });
  return learned.promise;
}

/** The relay part of an exchange between two connected peers: offer, answer, candidates both ways. */
async function relay(offerer: PeerSocket, answerer: PeerSocket, clock: RelayClock): Promise<void> {
  const connectionId = `dc_${randomUUID()}`;
  const answererLearned = learner(answerer, "offerer", connectionId, clock, () => {
    clock.sending("answer");
    answerer.send({ type: "ANSWER", dst: offerer.id, payload: { sdp: { type: "answer", sdp: answerSdp }, type: "data", connectionId } as never });
    sendCandidates(answerer, offerer.id, "answerer", connectionId, clock);
  });
  const offererLearned = learner(offerer, "answerer", connectionId, clock, () => {});
  clock.sending("offer");
  offerer.send({
    type: "OFFER",
    dst: answerer.id,
    payload: { sdp: { type: "offer", sdp: offerSdp }, type: "data", connectionId, label: connectionId, reliable: true, serialization: "binary" } as never,
  });
  sendCandidates(offerer, answerer.id, "offerer", connectionId, clock);
  await Promise.all([offererLearned, answererLearned]);
  offerer.onMessage(undefined);
  answerer.onMessage(undefined);
}

export const peerjsTimeoutMs = 15_000;

/** As the issue words it: two peers connect, relay offer, answer and candidates, and disconnect. */
export function peerjsExchange(baseUrl: string, relaySamples?: number[]): Promise<void> {
  const clock = new RelayClock(relaySamples);
  return withDeadline(peerjsTimeoutMs, async (signal) => {
    const [offerer, answerer] = await Promise.all([PeerSocket.open(baseUrl, signal), PeerSocket.open(baseUrl, signal)]);
    try {
      await relay(offerer, answerer, clock);
    } finally {
      await Promise.all([offerer.close(), answerer.close()]);
    }
  });
}

/** Peers that stay connected between exchanges: only the relay is measured (a stricter comparison for Switchboard). */
export function peerjsRelayOnly(pair: { offerer: PeerSocket; answerer: PeerSocket }, relaySamples?: number[]): Promise<void> {
  const clock = new RelayClock(relaySamples);
  return withDeadline(peerjsTimeoutMs, () => relay(pair.offerer, pair.answerer, clock));
}
