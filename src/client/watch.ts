import type { WatchChannelResponse } from "../../gen/signaling/v1/signaling_pb.js";
import { resumable } from "./resumable.js";
import type { SignalingClient } from "./transport.js";

export interface WatchOptions {
  /** Start after this version; 0 starts with a snapshot. */
  readonly afterVersion: number;
  /** Drops in a row (with no message between them) survived before giving up. */
  readonly maxRetries: number;
  readonly signal: AbortSignal;
  /** Told before each reconnect. */
  readonly onReconnect?: () => void;
  /**
   * The channel token to present, asked at each (re)connect: with it the
   * stream shows the answer side too; without, only the offer side.
   */
  readonly token?: () => string | undefined;
}

/**
 * WatchChannel that survives dropped streams: after a drop it waits (with
 * backoff) and asks again with the last version seen, so no change is missed
 * or repeated. Ends after exchange_complete, channel_closed or channel_expired, or quietly when
 * `signal` aborts; throws a ConnectError on a permanent failure.
 */
export async function* resumableWatch(
  client: SignalingClient,
  channelId: string,
  options: WatchOptions,
): AsyncGenerator<WatchChannelResponse> {
  const { signal } = options;
  let version = options.afterVersion;
  const stream = resumable(() => client.watchChannel({ channelId, afterVersion: version, token: options.token?.() ?? "" }, { signal }), {
    ...options,
    name: "WatchChannel",
    isLast: ({ event }) => event.case === "channelClosed" || event.case === "channelExpired" || event.case === "exchangeComplete",
  });
  for await (const message of stream) {
    version = Math.max(version, message.version);
    yield message;
  }
}
