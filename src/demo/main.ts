import { ConnectError } from "@connectrpc/connect";
import type { BrowserProtocol, SignalingSession } from "../client/index.js";
import { createChannel, createSignalingClient, createSignalingTransport, fetchIceServers, joinChannel } from "../client/index.js";

// ?api= points the page at an API on another origin (it must list this page's origin in --cors-allowed-origins);
// ?protocol=grpc-web switches from Connect; ?stun= (repeatable) adds STUN servers to those the service hands out
// (GetIceServers); ?channel= joins a channel.
const params = new URLSearchParams(location.search);
const api = params.get("api") ?? location.origin;
const protocol: BrowserProtocol = params.get("protocol") === "grpc-web" ? "grpc-web" : "connect";
const joining = params.get("channel");

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = byId<HTMLParagraphElement>("status");
const share = byId<HTMLParagraphElement>("share");
const shareLink = byId<HTMLAnchorElement>("share-link");
const messages = byId<HTMLUListElement>("messages");
const form = byId<HTMLFormElement>("chat");
const input = byId<HTMLInputElement>("message");
const send = byId<HTMLButtonElement>("send");
byId("about").textContent = `API ${api} over ${protocol === "grpc-web" ? "gRPC-Web" : "Connect"}`;

let connected = false;

function setStatus(text: string, state: string): void {
  status.textContent = text;
  status.dataset["state"] = state;
}

function say(who: "you" | "peer" | "system", text: string): void {
  const item = document.createElement("li");
  item.className = who;
  item.textContent = text;
  messages.append(item);
  messages.scrollTop = messages.scrollHeight;
}

function chatOver(channel: RTCDataChannel, onOpen: () => void = () => {}): void {
  channel.onopen = () => {
    connected = true;
    share.hidden = true; // the channel is closed once connected: the link has done its job
    setStatus("Connected peer to peer", "connected");
    input.disabled = send.disabled = false;
    input.focus();
    onOpen();
  };
  channel.onmessage = (event) => say("peer", String(event.data));
  channel.onclose = () => {
    setStatus("The other side left", "closed");
    input.disabled = send.disabled = true;
  };
  form.onsubmit = (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text === "" || channel.readyState !== "open") return;
    channel.send(text);
    say("you", text);
    input.value = "";
  };
}

function report(session: SignalingSession): void {
  void session.ended.then((end) => {
    if (connected) return; // the peers talk directly now; signaling is no longer needed
    if (end.reason === "expired") setStatus("The channel expired before a peer joined; reload to start again", "failed");
    if (end.reason === "failed") setStatus(`Signaling failed: ${end.error?.rawMessage ?? "unknown error"}`, "failed");
  });
}

async function start(): Promise<void> {
  const transport = createSignalingTransport({ baseUrl: api, protocol });
  const client = createSignalingClient(transport);
  // The operator's STUN/TURN servers; none when the server wants a channel token first (--ice-require-token on).
  const fromService = await fetchIceServers(transport).catch(() => []);
  const pc = new RTCPeerConnection({ iceServers: [...fromService, ...params.getAll("stun").map((urls) => ({ urls }))] });
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "failed") setStatus("The peer-to-peer connection failed", "failed");
  };
  if (joining) {
    setStatus("Joining…", "joining");
    pc.ondatachannel = (event) => chatOver(event.channel);
    report(await joinChannel(client, pc, joining));
    if (!connected) setStatus("Answered; connecting…", "connecting");
    return;
  }
  const channel = pc.createDataChannel("chat");
  let session: SignalingSession | undefined;
  // Once the peers talk directly and have traded every candidate, the channel has done its job: close it so the
  // server can forget it.
  chatOver(channel, () => void session?.candidatesExchanged.then(() => session?.close()).catch(() => {}));
  session = await createChannel(client, pc);
  report(session);
  const link = new URL(location.href);
  link.searchParams.set("channel", session.channelId);
  shareLink.href = shareLink.textContent = link.href;
  share.hidden = false;
  setStatus("Waiting for someone to open the link…", "waiting");
}

start().catch((error: unknown) => {
  setStatus(`Could not start: ${ConnectError.from(error).rawMessage}`, "failed");
});
