import type { ConnectError } from "@connectrpc/connect";
import type { Broadcast } from "../../lib/broadcast.js";
import type { CallPolicy } from "./policy.js";

/**
 * Fails every call still running when `cut` fires, with its reason, so a
 * client cut off at the end of the shutdown grace period gets a proper
 * status (UNAVAILABLE: retry elsewhere) rather than a torn connection.
 * A stream is covered until it has started (its messages end through its
 * signal on shutdown). Each call joins `cut` in O(1) (not as a listener of
 * one shared AbortSignal, whose add and remove are O(open calls)).
 */
export function hardStop(cut: Broadcast<ConnectError>): CallPolicy<Joined> {
  return {
    enter: (_req, fail) => ({ leave: cut.add(fail) }),
    started: (_req, joined) => leave(joined),
    exit: (_req, joined) => leave(joined),
  };
}

/** A call's place in `cut`. Let go of once left: a stream keeps its policy states while open, and `fail` holds its start's frame. */
interface Joined {
  leave: (() => void) | undefined;
}

function leave(joined: Joined): void {
  joined.leave?.();
  joined.leave = undefined;
}
