import type { Transport } from "@connectrpc/connect";
import type { IceAccess, RoomMember, RoomSession } from "../client/index.js";
import { connectMesh, joinRoom } from "../client/index.js";
import { byId, enableChat, onChatSubmit, say, setStatus, showShareLink } from "./ui.js";

// Room mode: ?room=<name> joins the room (?seats=<n> sets its seats if this page creates it, ?name= the name the
// others see). Every member opens a data channel to every other member (a mesh) and a message goes over each.

const nameOf = (member: RoomMember) => member.displayName || member.sessionId.slice(0, 8);

/** The member list: one item per member, its data-state "you", "connecting", "open" or "closed". */
function memberList(session: RoomSession) {
  const list = byId<HTMLUListElement>("members");
  list.hidden = false;
  const items = new Map<string, HTMLLIElement>();
  const set = (member: RoomMember, state: string) => {
    let item = items.get(member.sessionId);
    if (!item) {
      item = document.createElement("li");
      item.dataset["session"] = member.sessionId;
      item.textContent = member.sessionId === session.sessionId ? `${nameOf(member)} (you)` : nameOf(member);
      items.set(member.sessionId, item);
      list.append(item);
    }
    item.dataset["state"] = state;
  };
  const remove = (member: RoomMember) => {
    items.get(member.sessionId)?.remove();
    items.delete(member.sessionId);
  };
  return { set, remove };
}

export async function startRoom(
  transport: Transport,
  room: string,
  params: URLSearchParams,
  staticIceServers: RTCIceServer[],
  serviceIceServers: (access: IceAccess) => Promise<RTCIceServer[]>,
): Promise<void> {
  setStatus(`Joining room ${room}…`, "joining");
  const seats = Number(params.get("seats")) || undefined;
  const session = await joinRoom(transport, room, { seats, displayName: params.get("name") ?? "" });
  const members = memberList(session);
  const channels = new Map<string, RTCDataChannel>();
  const showState = () => {
    const open = [...channels.values()].filter((c) => c.readyState === "open").length;
    const others = session.members.size - 1;
    const taken = `In room ${room}: ${session.members.size} of ${session.seats} seats taken`;
    if (others === 0) setStatus(`${taken}; share the link below and wait for others`, "waiting");
    else setStatus(`${taken}, ${open} of ${others} peers connected`, open === others ? "connected" : "connecting");
    enableChat(open > 0);
  };

  members.set(session.members.get(session.sessionId)!, "you");
  // Right after joining, with no await in between: the others' offers may already be on their way, and room messages
  // are not replayed. The service hands out its STUN/TURN servers to members only: the mesh asks for them with this
  // member's session before each peer connection, holding that peer's messages meanwhile.
  connectMesh(session, {
    iceServers: serviceIceServers,
    createPeerConnection(member, iceServers) {
      const pc = new RTCPeerConnection({ iceServers: [...staticIceServers, ...iceServers] });
      // Both sides create the same pre-negotiated channel, so both start negotiating at once: perfect negotiation
      // sorts out the collision.
      const channel = pc.createDataChannel("chat", { negotiated: true, id: 0 });
      channels.set(member.sessionId, channel);
      members.set(member, "connecting");
      channel.onopen = () => (members.set(member, "open"), showState());
      channel.onclose = () => (channels.get(member.sessionId) === channel && members.set(member, "closed"), showState());
      channel.onmessage = (event) => say("peer", `${nameOf(member)}: ${String(event.data)}`, member.sessionId);
      return pc;
    },
    onPeerLeft(member, reason) {
      channels.delete(member.sessionId);
      members.remove(member);
      say("system", `${nameOf(member)} left${reason === "timed-out" ? " (connection lost)" : ""}`);
      showState();
    },
  });
  session.onJoin((member) => {
    say("system", `${nameOf(member)} joined`);
    showState();
  });
  void session.ended.then((end) => {
    setStatus(end.reason === "left" ? "You left the room" : `You are no longer in the room: ${end.error?.rawMessage ?? end.reason}`, "closed");
    enableChat(false);
  });
  addEventListener("pagehide", () => void session.leave().catch(() => {}));

  onChatSubmit((text) => {
    const open = [...channels.values()].filter((c) => c.readyState === "open");
    for (const channel of open) channel.send(text);
    return open.length > 0;
  });
  showShareLink({ room, seats: null, name: null });
  showState();
}
