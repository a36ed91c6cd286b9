import type { TimerWheel } from "../lib/timer-wheel.js";
import { eventsSince } from "../store/channel-events.js";
import type { ChannelState } from "../store/channel.js";
import { exchangeComplete } from "../store/channel.js";
import type { ChannelChange, ChannelStore } from "../store/store.js";
import type { WatchResponseInit } from "./convert.js";
import { channelMessage, completeMessage, endMessage, eventMessage } from "./convert.js";
import { channelNotFound, invalidArgument } from "./errors.js";
import { keepAlive, KeepAliveTimer } from "./keep-alive.js";
import type { StreamQueues } from "./stream-queue.js";
import type { PerKeyLimit, WatchSlots } from "./watch-slots.js";

export interface WatchDeps {
  readonly store: ChannelStore;
  readonly slots: WatchSlots;
  /** Every stream's keep-alive timer runs on this one wheel (one clock timer for all streams). */
  readonly keepAlive: TimerWheel;
  /** Bounds what the stream holds for a client that reads slower than the channel changes. */
  readonly queues: StreamQueues;
  /** Cuts this stream at the transport (see abandonStreamKey). */
  readonly abandon?: (() => void) | undefined;
}

type Queued = ChannelChange | typeof keepAlive;

/** Bytes a change costs the stream: for an update, the text of the whole channel it carries. */
function changeBytes(change: Queued): number {
  return change !== keepAlive && change.kind === "updated" ? channelStateBytes(change.state) : 64;
}

/** Only the newest state of the channel matters to a stream: an update replaces the update waiting before it. */
function newerUpdate(next: Queued, last: Queued): boolean {
  return last !== keepAlive && next !== keepAlive && last.kind === "updated" && next.kind === "updated";
}

/** The SDP and candidate text a channel holds, plus a fixed overhead per item: roughly what a snapshot of it weighs. */
export function channelStateBytes(state: ChannelState): number {
  let bytes = 128 + (state.offer?.value.length ?? 0) + (state.answer?.value.length ?? 0);
  for (const side of [state.candidates.offerer, state.candidates.answerer]) {
    for (const { value } of side) bytes += 64 + value.candidate.length + (value.sdpMid?.length ?? 0) + (value.usernameFragment?.length ?? 0);
  }
  return bytes;
}

export interface WatchScope {
  /** The watch slot the stream takes: its key, and a limit other than the slots' per-key one. */
  readonly slot: { readonly key: string; readonly limit?: PerKeyLimit };
  /** What of the channel the watcher may see (e.g. offerSide); undefined: all of it. */
  readonly view: ((state: ChannelState) => ChannelState) | undefined;
  /** Checks the request (its channel id, its token) before the stream takes anything; throws to refuse it. */
  readonly admit?: () => Promise<void>;
}

/**
 * The messages of one WatchChannel stream. It subscribes before it reads
 * the channel, and sends only versions above the last one sent, so a change
 * landing between the read and the subscription is neither lost nor doubled.
 * Once the exchange is complete nothing more can change but closing or
 * expiry, so the stream says so and ends: no client needs to close the channel.
 */
export async function* watchChannelStream(
  deps: WatchDeps,
  channelId: string,
  afterVersion: number,
  signal: AbortSignal,
  scope: WatchScope,
): AsyncGenerator<WatchResponseInit> {
  if (scope.admit) await scope.admit();
  const view = scope.view ?? ((state: ChannelState) => state);
  const release = deps.slots.acquire(scope.slot.key, scope.slot.limit);
  const queue = deps.queues.create<Queued>("WatchChannel", changeBytes, { supersedes: newerUpdate, abandon: deps.abandon });
  const unsubscribe = deps.store.watchChannel(channelId, (change) => queue.push(change));
  // A stream that overflowed holds no slot while its client is given the grace to read on to its status.
  queue.onOverflow(() => {
    unsubscribe();
    release();
  });
  const idle = new KeepAliveTimer(deps.keepAlive, () => queue.push(keepAlive));
  try {
    const stored = await deps.store.getChannel(channelId);
    if (!stored) throw channelNotFound(channelId);
    const state = view(stored);
    let sent: number;
    if (afterVersion === 0) {
      yield { version: state.version, event: { case: "snapshot", value: channelMessage(state) } };
    } else {
      if (afterVersion > state.version) {
        throw invalidArgument("after_version", `channel ${channelId} is at version ${state.version}, not yet at ${afterVersion}`);
      }
      yield* eventsSince(state, afterVersion).map(eventMessage);
    }
    sent = state.version;
    // Judged on the whole channel: a tokenless watcher's stream ends when the peers' exchange does.
    if (exchangeComplete(stored)) {
      yield completeMessage(sent);
      return;
    }
    for (;;) {
      idle.arm();
      const next = await queue.next(signal);
      if (next === keepAlive) {
        yield { version: sent, event: { case: "keepAlive", value: {} } };
      } else if (next.kind === "updated") {
        if (next.state.version <= sent) continue;
        yield* eventsSince(view(next.state), sent).map(eventMessage);
        sent = next.state.version;
        if (exchangeComplete(next.state)) {
          yield completeMessage(sent);
          return;
        }
      } else if (next.kind === "failed") {
        throw next.error;
      } else {
        yield endMessage(next);
        return;
      }
    }
  } finally {
    idle.cancel();
    unsubscribe();
    queue.close();
    release();
  }
}
