import { ConnectError } from "@connectrpc/connect";
import type { WatchChannelResponse } from "../../gen/signaling/v1/signaling_pb.js";
import { backoffMs, isTransient, sleep } from "./retry.js";
import type { SignalingClient } from "./transport.js";

export interface WatchOptions {
  /** Start after this version; 0 starts with a snapshot. */
  readonly afterVersion: number;
  /** Drops in a row (with no message between them) survived before giving up. */
  readonly maxRetries: number;
  readonly signal: AbortSignal;
  /** Told before each reconnect. */
  readonly onReconnect?: () => void;
}

/**
 * WatchChannel that survives dropped streams: after a drop it waits (with
 * backoff) and asks again with the last version seen, so no change is missed
 * or repeated. Ends after channel_closed or channel_expired, or quietly when
 * `signal` aborts; throws a ConnectError on a permanent failure.
 */
export async function* resumableWatch(
  client: SignalingClient,
  channelId: string,
  options: WatchOptions,
): AsyncGenerator<WatchChannelResponse> {
  const { signal } = options;
  let version = options.afterVersion;
  let failures = 0;
  for (;;) {
    let failure: ConnectError | undefined;
    try {
      for await (const message of client.watchChannel({ channelId, afterVersion: version }, { signal })) {
        failures = 0;
        version = Math.max(version, message.version);
        yield message;
        const kind = message.event.case;
        if (kind === "channelClosed" || kind === "channelExpired") return;
      }
    } catch (cause) {
      failure = ConnectError.from(cause);
    }
    if (signal.aborted) return;
    // A stream that ends without an end event was cut by something between us and the server: resume it too.
    if (failure && !isTransient(failure)) throw failure;
    failures++;
    if (failures > options.maxRetries) {
      throw failure ?? new ConnectError("the WatchChannel stream kept ending early; giving up");
    }
    try {
      await sleep(backoffMs(failures), signal);
    } catch {
      return;
    }
    options.onReconnect?.();
  }
}
