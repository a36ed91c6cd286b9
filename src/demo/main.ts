import { ConnectError } from "@connectrpc/connect";
import type { BrowserProtocol, IceAccess, SignalingSession } from "../client/index.js";
import { createChannel, createSignalingClient, createSignalingTransport, fetchIceServers, joinChannel } from "../client/index.js";
import { startRoom } from "./room.js";
import { byId, enableChat, onChatSubmit, page, say, setStatus, showShareLink } from "./ui.js";

// ?api= points the page at an API on another origin: one the server lists in --demo-api-origins (the page's CSP allows
// no other), which must list this page's origin in its --cors-allowed-origins;
// ?protocol=grpc-web switches from Connect; ?stun= (repeatable) adds STUN servers to those the service hands out
// (GetIceServers); ?channel= joins a channel; ?room= joins a room instead (see room.ts).
const params = new URLSearchParams(location.search);
const api = apiOrigin(params.get("api"));
const protocol: BrowserProtocol = params.get("protocol") === "grpc-web" ? "grpc-web" : "connect";
const joining = params.get("channel");
const room = params.get("room");
byId("about").textContent = `API ${api} over ${protocol === "grpc-web" ? "gRPC-Web" : "Connect"}`;

/** The API the page may use: its own origin, or one the server allows (the meta element it serves the page with). */
function apiOrigin(asked: string | null): string {
  if (asked === null) return location.origin;
  let origin: string;
  try {
    origin = new URL(asked).origin;
  } catch {
    origin = "";
  }
  const allowed = (document.querySelector<HTMLMetaElement>('meta[name="switchboard-api-origins"]')?.content ?? "").split(" ");
  if (origin === location.origin || (origin !== "" && allowed.includes(origin))) return origin;
  setStatus(`?api=${asked} is not allowed: this page may use its own origin or one in the server's --demo-api-origins`, "failed");
  throw new Error("api origin not allowed");
}

let connected = false;

function chatOver(channel: RTCDataChannel, onOpen: () => void = () => {}): void {
  channel.onopen = () => {
    connected = true;
    page.share.hidden = true; // connected: the link has done its job
    setStatus("Connected peer to peer", "connected");
    enableChat(true);
    page.input.focus();
    onOpen();
  };
  channel.onmessage = (event) => say("peer", String(event.data));
  channel.onclose = () => {
    setStatus("The other side left", "closed");
    enableChat(false);
  };
  onChatSubmit((text) => channel.readyState === "open" && (channel.send(text), true));
}

function report(session: SignalingSession): void {
  void session.ended.then((end) => {
    if (connected) return; // the peers talk directly now; signaling is no longer needed
    if (end.reason === "expired") setStatus("The channel expired before a peer joined; reload to start again", "failed");
    if (end.reason === "failed") setStatus(`Signaling failed: ${end.error?.rawMessage ?? "unknown error"}`, "failed");
  });
}

/** The room form sends this page to ?room=<name>&seats=<n>. */
function offerRooms(): void {
  const form = byId<HTMLFormElement>("room-form");
  form.hidden = false;
  form.onsubmit = (event) => {
    event.preventDefault();
    const next = new URL(location.href);
    next.searchParams.set("room", byId<HTMLInputElement>("room-name").value.trim());
    next.searchParams.set("seats", byId<HTMLInputElement>("room-seats").value);
    location.assign(next.href);
  };
}

async function start(iceServers: RTCIceServer[]): Promise<void> {
  const client = createSignalingClient(transport);
  const pc = new RTCPeerConnection({ iceServers });
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "failed") setStatus("The peer-to-peer connection failed", "failed");
  };
  if (joining) {
    setStatus("Joining…", "joining");
    pc.ondatachannel = (event) => chatOver(event.channel);
    report(await joinChannel(client, pc, joining, withServiceIce));
    if (!connected) setStatus("Answered; connecting…", "connecting");
    return;
  }
  offerRooms();
  const channel = pc.createDataChannel("chat");
  // Nothing to close once the peers talk directly: the channel's streams end when the exchange is complete.
  chatOver(channel);
  const session = await createChannel(client, pc, withServiceIce);
  report(session);
  showShareLink({ channel: session.channelId });
  setStatus("Waiting for someone to open the link…", "waiting");
}

const transport = createSignalingTransport({ baseUrl: api, protocol });
// The operator's STUN/TURN servers, fetched with the channel token or room session once the page holds one (the
// service hands them out to nobody else); none if that fails. ?stun= servers are there from the start.
const serviceIceServers = (access: IceAccess) => fetchIceServers(transport, access).catch(() => []);
const iceServers = params.getAll("stun").map((urls) => ({ urls }));
// ?ice=service: a channel's peers use the service's servers, which come with their tokens (CreateChannel, SetAnswer;
// GetIceServers when those carry none), before gathering; without it they take the short path with ?stun= only.
const withServiceIce = params.get("ice") === "service" ? { iceServers: serviceIceServers } : {};

(room === null ? start(iceServers) : startRoom(transport, room, params, iceServers, serviceIceServers)).catch((error: unknown) => {
  const e = ConnectError.from(error);
  setStatus(room === null ? `Could not start: ${e.rawMessage}` : `Could not join room ${room}: ${e.message}`, "failed");
});
