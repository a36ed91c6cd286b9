import { ConnectError } from "@connectrpc/connect";
import type { RoomMessage } from "./room-model.js";
import type { RoomSession } from "./room-session.js";

export interface PeerOptions {
  /**
   * Told about failures that do not stop the link: a message the server did
   * not take, a description or candidate the browser refused. Default: console.warn.
   */
  readonly onError?: (error: unknown) => void;
}

/** Where a link hears the room's messages: registers a listener, returns the function that removes it. */
export type MessageSource = (listener: (message: RoomMessage) => void) => () => void;

/** Whether `message` is negotiation (a description or candidate addressed to this member), not chat or a broadcast. */
export function isNegotiation(message: RoomMessage): boolean {
  return message.to !== undefined && message.kind !== "data";
}

/** The signaling between this member and one other, for one peer connection. */
export interface PeerLink {
  readonly remoteSessionId: string;
  /** The polite side gives way when both sides offer at once; decided by comparing the two session ids. */
  readonly polite: boolean;
  /** Stops signaling for this peer connection; it does not close the connection. */
  close(): void;
}

/**
 * Runs the W3C "perfect negotiation" pattern between this member and
 * `remoteSessionId` over room messages, so either side may add tracks or
 * data channels at any time and both may even start at once: the member
 * whose session id sorts first is polite and rolls its own offer back on a
 * collision; the other ignores the colliding offer. Local ICE candidates
 * trickle to the peer as they are gathered, then an empty
 * end-of-candidates message. The other side must run connectPeer too.
 * Call it before adding tracks or data channels to `pc`, or in the same
 * task (negotiationneeded fires in a later one), and in the same task as
 * the peer learnt of the other member (joinRoom() resolving, onJoin): room
 * messages are not replayed, so an offer that arrives before is lost. To
 * wait for something first, hold the messages and pass them in through
 * `messages` (what connectMesh does while it fetches ICE servers).
 */
export function connectPeer(
  session: RoomSession,
  remoteSessionId: string,
  pc: RTCPeerConnection,
  options: PeerOptions = {},
  messages: MessageSource = (listener) => session.onMessage(listener),
): PeerLink {
  const polite = session.sessionId < remoteSessionId;
  const report = options.onError ?? ((error: unknown) => console.warn(`peer ${remoteSessionId}:`, error));
  const stop = new AbortController();
  const { signal } = stop;
  let makingOffer = false;
  let ignoreOffer = false;
  let settingRemoteAnswerPending = false;
  let received = Promise.resolve();

  const send = (kind: "offer" | "answer" | "ice-candidate", body: string) => {
    session.send(remoteSessionId, kind, body).catch((error: unknown) => signal.aborted || report(ConnectError.from(error)));
  };
  const sendDescription = () => {
    const { type, sdp } = pc.localDescription!;
    send(type === "answer" ? "answer" : "offer", JSON.stringify({ type, sdp }));
  };

  pc.addEventListener(
    "negotiationneeded",
    async () => {
      try {
        makingOffer = true;
        await pc.setLocalDescription();
        if (!signal.aborted) sendDescription();
      } catch (error) {
        report(error);
      } finally {
        makingOffer = false;
      }
    },
    { signal },
  );
  pc.addEventListener(
    "icecandidate",
    ({ candidate }) => {
      if (!candidate) send("ice-candidate", "");
      else if (candidate.candidate !== "") send("ice-candidate", JSON.stringify(candidate));
    },
    { signal },
  );
  pc.addEventListener("iceconnectionstatechange", () => pc.iceConnectionState === "failed" && pc.restartIce(), { signal });

  /**
   * Resolves once this side's ICE gathering has produced its first candidate (or finished). Chromium (seen in
   * 156) sometimes never gathers again on a connection whose offer was rolled back before its first candidate:
   * the answer then sits in "gathering" with no candidate, for good. Rolling back after that point is safe.
   */
  function gatheringUnderWay(): Promise<void> {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = new AbortController();
      const finish = () => (done.abort(), resolve());
      const listen = { signal: done.signal };
      pc.addEventListener("icecandidate", finish, listen);
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && finish(), listen);
      signal.addEventListener("abort", finish, listen);
    });
  }

  async function receiveDescription(description: RTCSessionDescriptionInit): Promise<void> {
    const readyForOffer = !makingOffer && (pc.signalingState === "stable" || settingRemoteAnswerPending);
    const offerCollision = description.type === "offer" && !readyForOffer;
    ignoreOffer = !polite && offerCollision;
    if (ignoreOffer) return;
    if (offerCollision) await gatheringUnderWay();
    settingRemoteAnswerPending = description.type === "answer";
    await pc.setRemoteDescription(description); // rolls this side's own offer back when it collides
    settingRemoteAnswerPending = false;
    if (description.type === "offer") {
      await pc.setLocalDescription();
      if (!signal.aborted) sendDescription();
    }
  }

  async function receiveCandidate(body: string): Promise<void> {
    try {
      // An empty candidate is end-of-candidates.
      await pc.addIceCandidate(body === "" ? { candidate: "" } : (JSON.parse(body) as RTCIceCandidateInit));
    } catch (error) {
      if (!ignoreOffer) throw error; // candidates of an offer this side ignored are expected to fail
    }
  }

  async function receive(message: RoomMessage): Promise<void> {
    if (signal.aborted) return;
    if (message.kind === "ice-candidate") return receiveCandidate(message.body);
    return receiveDescription(JSON.parse(message.body) as RTCSessionDescriptionInit);
  }

  const unsubscribe = messages((message) => {
    if (message.from !== remoteSessionId || !isNegotiation(message)) return;
    // One at a time, in arrival order: a candidate must not overtake the description it belongs to.
    received = received.then(() => receive(message)).catch(report);
  });
  signal.addEventListener("abort", unsubscribe);

  return { remoteSessionId, polite, close: () => stop.abort() };
}
