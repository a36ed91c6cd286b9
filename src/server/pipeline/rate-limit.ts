import { createHash } from "node:crypto";
import { isIP } from "node:net";
import type { DescMessage } from "@bufbuild/protobuf";
import type { ConnectError, Interceptor, StreamRequest, UnaryRequest } from "@connectrpc/connect";
import { LRUCache } from "lru-cache";
import { clientAddressKey } from "../../service/call-context.js";
import { limitExceeded, withRetryDelay } from "../../service/limit-error.js";

/** What a call does, for rate limiting: each class has its own budget per client. */
export type MethodClass = "create" | "write" | "read" | "stream";
export const methodClasses: readonly MethodClass[] = ["create", "write", "read", "stream"];

/** `count` calls per `perMs` on average, in bursts of up to `count`. */
export interface Rate {
  readonly count: number;
  readonly perMs: number;
}

export interface RateLimitOptions {
  /** The rate of each class; undefined: that class is not limited. */
  readonly rates: Readonly<Record<MethodClass, Rate | undefined>>;
  /**
   * Clients (addresses and tokens, per class) whose budgets are kept at
   * once; the least recently seen is forgotten first and starts afresh.
   * A budget unused for its whole period is full again and is dropped too.
   */
  readonly maxClients: number;
  /** Milliseconds on a monotonic clock; performance.now unless a test sets it. */
  readonly now?: () => number;
}

/** Procedures (by method name) that create something the server holds, or mint a credential. */
const creating = new Set(["CreateChannel", "JoinRoom", "GetIceServers"]);
/** Procedures that change something. */
const writing = new Set([
  "SetOffer",
  "SetAnswer",
  "AddIceCandidate",
  "AddIceCandidates",
  "CloseChannel",
  "SendMessage",
  "RenewSession",
  "LeaveRoom",
]);

/** The class of a call: streams by their kind, unary calls by name; anything else reads. */
export function methodClass(method: { readonly name: string; readonly methodKind: string }): MethodClass {
  if (method.methodKind !== "unary") return "stream";
  if (creating.has(method.name)) return "create";
  if (writing.has(method.name)) return "write";
  return "read";
}

const describe: Record<MethodClass, string> = {
  create: "calls creating channels, rooms, sessions or TURN credentials",
  write: "writes",
  read: "reads",
  stream: "streams opened",
};

/** The setting that holds a class's rate. */
export const rateSetting = (c: MethodClass): string => `rate-limit-${c}`;

interface Bucket {
  tokens: number;
  at: number;
}

/** Charges calls to per-client budgets; one instance serves every route (RPCs and the JSON endpoint), so they share them. */
export interface RateLimiter {
  /**
   * Charges one call of class `kind` to the client address and, when given, to the token it presents
   * (hashed here; the limiter never holds a secret). Undefined when the call may go on; otherwise the
   * refusal: RESOURCE_EXHAUSTED naming the setting, with RetryInfo and `retry-after` (whole seconds).
   */
  charge(kind: MethodClass, clientAddress: string, token?: string): ConnectError | undefined;
  /** Whether calls of the class are limited at all (its rate is not 0). */
  limits(kind: MethodClass): boolean;
}

/**
 * A token bucket per client and method class: each call takes one token;
 * tokens come back at the class's rate up to a full bucket. A client is its
 * address (IPv6: its /64, what one subscriber usually holds) and, when the
 * request carries a channel token or room session token, that token too:
 * the call must find a token in both buckets. A token only adds a budget
 * (an invented token cannot buy calls, since the address is always
 * charged), so one token shared by many addresses stays limited. The state
 * is bounded: at most `maxClients` buckets (an LRU cache), each dropped once
 * unused long enough to be full again.
 *
 * Budgets are per process: N instances behind a balancer allow N times the rate.
 */
export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const now = options.now ?? (() => performance.now());
  // maxSize (each bucket counting 1) rather than max: `max` makes lru-cache preallocate arrays for all maxClients
  // entries at start (100,000 by default), memory a server with few clients never needs; maxSize grows them on use.
  const buckets = new LRUCache<string, Bucket>({ maxSize: options.maxClients, sizeCalculation: () => 1, ttlAutopurge: false, perf: { now } });

  /** Takes a token from the bucket; the wait until one is there when it is empty. */
  const take = (key: string, rate: Rate, at: number): number => {
    const bucket = buckets.get(key) ?? { tokens: rate.count, at };
    const tokens = Math.min(rate.count, bucket.tokens + ((at - bucket.at) * rate.count) / rate.perMs);
    if (tokens < 1) return ((1 - tokens) * rate.perMs) / rate.count;
    // Unused for perMs, the bucket is full again: forgetting it then loses nothing.
    buckets.set(key, { tokens: tokens - 1, at }, { ttl: Math.ceil(rate.perMs) });
    return 0;
  };

  return {
    limits: (kind) => options.rates[kind] !== undefined,
    charge(kind, clientAddress, token) {
      const rate = options.rates[kind];
      if (!rate) return undefined;
      const at = now();
      let wait = take(`${kind} ${clientKey(clientAddress)}`, rate, at);
      if (wait === 0 && token !== undefined && token !== "") wait = take(`${kind} t:${hashed(token)}`, rate, at);
      if (wait === 0) return undefined;
      const setting = rateSetting(kind);
      const error = limitExceeded(
        setting,
        `too many ${describe[kind]} from this client: at most ${rate.count} per ${period(rate.perMs)} (${setting}); retry in ${Math.ceil(wait / 1000)} s`,
      );
      return withRetryDelay(error, wait);
    },
  };
}

/** The rate limit of every RPC: each call is charged by its method's class (`methodClass`) to the limiter's budgets. */
export function rateLimit(limiter: RateLimiter): Interceptor {
  return (next) => async (req) => {
    const kind = methodClass(req.method);
    if (!limiter.limits(kind)) return next(req);
    const { message, token } = await peekToken(req);
    const refusal = limiter.charge(kind, req.contextValues.get(clientAddressKey), token);
    if (refusal) throw refusal;
    return next(message === undefined || !req.stream ? req : { ...req, message });
  };
}

/**
 * The token or session token a request carries, and for a server-streaming
 * call the request with its one message read and put back.
 */
async function peekToken(
  req: UnaryRequest<DescMessage, DescMessage> | StreamRequest<DescMessage, DescMessage>,
): Promise<{ message?: AsyncIterable<never>; token?: string }> {
  if (!req.stream) return { token: tokenOf(req.message) };
  if (req.method.methodKind !== "server_streaming") return {};
  const iterator = req.message[Symbol.asyncIterator]();
  const first = await iterator.next();
  const rest = { [Symbol.asyncIterator]: () => iterator };
  const message = (async function* () {
    if (!first.done) yield first.value;
    yield* rest;
  })() as AsyncIterable<never>;
  return { message, token: first.done ? undefined : tokenOf(first.value) };
}

function tokenOf(message: unknown): string | undefined {
  const m = message as { token?: unknown; session?: { sessionToken?: unknown }; rejoin?: { sessionToken?: unknown } };
  return [m.token, m.session?.sessionToken, m.rejoin?.sessionToken].find((t): t is string => typeof t === "string" && t !== "");
}

/** A token as a bucket key: part of its SHA-256, so the limiter holds no secret. */
function hashed(token: string): string {
  return createHash("sha256").update(token).digest("base64url").slice(0, 22);
}

/** An IPv6 client is its /64: one subscriber usually gets a whole /64, so counting addresses would count nothing. */
function clientKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = "", tail = ""] = address.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = address.includes("::") ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right] : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "").toLowerCase()).join(":") + "::/64";
}

function period(ms: number): string {
  if (ms === 1000) return "second";
  if (ms === 60_000) return "minute";
  if (ms === 3_600_000) return "hour";
  return `${ms / 1000} s`;
}

/** Parses a rate setting: `<count>/<s|m|h>` (e.g. `60/m`), or `0` / `off` for no limit. */
export function parseRate(text: string): Rate | undefined {
  const t = text.trim();
  if (t === "0" || t === "off") return undefined;
  const match = /^(\d+)\s*\/\s*(s|m|h)$/.exec(t);
  const count = Number(match?.[1]);
  if (!match || !(count >= 1 && count <= 1_000_000)) {
    throw new Error("must be <count>/<s|m|h> (e.g. 60/m: 60 a minute, in bursts of up to 60), or 0 for no limit");
  }
  return { count, perMs: { s: 1000, m: 60_000, h: 3_600_000 }[match[2] as "s" | "m" | "h"] };
}

/** A rate as its setting's text. */
export function formatRate(rate: Rate | undefined): string {
  if (!rate) return "0";
  return `${rate.count}/${{ 1000: "s", 60_000: "m", 3_600_000: "h" }[rate.perMs] ?? `${rate.perMs}ms`}`;
}
