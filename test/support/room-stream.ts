import type { Client } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RoomService, WatchRoomRequestSchema, WatchRoomResponse } from "../../gen/signaling/v1/room_pb.js";
import { LeaveReason, MessageKind } from "../../gen/signaling/v1/room_pb.js";

/** One WatchRoom stream, read one message at a time. */
export class RoomStream {
  private readonly controller = new AbortController();
  private readonly iterator: AsyncIterator<WatchRoomResponse>;
  private started: Promise<IteratorResult<WatchRoomResponse>> | undefined;

  /** Opens the stream at once, so the server holds it even before the first read. */
  constructor(client: Client<typeof RoomService>, request: MessageInitShape<typeof WatchRoomRequestSchema>) {
    this.iterator = client.watchRoom(request, { signal: this.controller.signal })[Symbol.asyncIterator]();
    this.started = this.iterator.next();
    // A stream cancelled before its first read must not leave an unhandled rejection behind.
    this.started.catch(() => {});
  }

  /** The next message, keep-alives included. */
  async nextRaw(): Promise<WatchRoomResponse> {
    const pending = this.started ?? this.iterator.next();
    this.started = undefined;
    const { value, done } = await pending;
    if (done) throw new Error("the WatchRoom stream ended");
    return value;
  }

  /** The next message that is not a keep-alive. */
  async next(): Promise<WatchRoomResponse> {
    for (;;) {
      const message = await this.nextRaw();
      if (message.event.case !== "keepAlive") return message;
    }
  }

  /** The error the stream ends with, skipping keep-alives; fails if another message comes first. */
  async end(): Promise<ConnectError> {
    try {
      const message = await this.next();
      throw new Error(`expected the stream to end, got ${describeRoomMessage(message)}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("expected the stream to end")) throw error;
      return ConnectError.from(error);
    }
  }

  /** Drops the connection, as a client that goes away does. */
  cancel(): void {
    this.controller.abort();
  }
}

/** A short text for a WatchRoom message, for readable assertions. */
export function describeRoomMessage(message: WatchRoomResponse): string {
  const { event } = message;
  switch (event.case) {
    case "snapshot":
      return `snapshot ${event.value.members.map((m) => m.displayName).join(",")}`;
    case "memberJoined":
      return `joined ${event.value.member?.displayName}`;
    case "memberLeft":
      return `left ${event.value.sessionId} ${LeaveReason[event.value.reason]}`;
    case "message":
      return `${MessageKind[event.value.kind]} ${event.value.fromSessionId}->${event.value.toSessionId || "*"} ${event.value.body}`;
    case "keepAlive":
      return "keep-alive";
    default:
      return "nothing";
  }
}
