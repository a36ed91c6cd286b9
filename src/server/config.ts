import { parseArgs } from "node:util";
import type { IceConfig } from "../service/ice-service.js";
import type { RoomServiceLimits, SignalingLimits } from "../service/limits.js";
import type { RoomLimits } from "../store/room-store.js";
import type { MongoStoreOptions } from "../store/mongo/deployment/options.js";
import type { StoreLimits } from "../store/store.js";
import type { StreamQueueLimits } from "../service/stream-queue.js";
import type { ConnectionLimits } from "./connection-limits.js";
import { parseCompatPath } from "./compat/compat-path.js";
import { parseOrigins } from "./cors.js";
import type { ClientAddressHeader, TrustedProxySettings } from "./pipeline/client-address.js";
import { clientAddressHeaders, parseTrustedProxies } from "./pipeline/client-address.js";
import type { RateLimitOptions } from "./pipeline/rate-limit.js";
import { parseRate } from "./pipeline/rate-limit.js";
import { anyText, iceConfig, parseTurnUrls, readableFile, validIceServers } from "./ice-settings.js";
import type { LogLevel } from "./logger.js";
import { logLevels } from "./logger.js";
import { Secret } from "../lib/secret.js";

/** Everything the server reads from its environment and flags, parsed and checked once at start. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly store: "memory" | "mongodb";
  /** Used when `store` is `mongodb`. */
  readonly mongodb: Omit<MongoStoreOptions, "limits"> & {
    /** Collection of the room store (its events in `<roomCollection>.events`). */
    readonly roomCollection: string;
  };
  readonly logLevel: LogLevel;
  readonly limits: SignalingLimits & StoreLimits;
  /** Limits of RoomService and its store. */
  readonly rooms: RoomLimits & RoomServiceLimits;
  /** Largest request message, in bytes (the router's readMaxBytes). */
  readonly maxRequestBytes: number;
  /** Longest deadline a client may ask for; 0 for no cap (the router's maxTimeoutMs). */
  readonly maxTimeoutMs: number;
  /** How long in-flight calls may run on after SIGTERM before their connections are cut. */
  readonly shutdownGraceMs: number;
  /** Path of the Lambda-style JSON endpoint; undefined when it is off. */
  readonly compatPath: string | undefined;
  /** Deepest nesting of arrays and objects a JSON endpoint request body may have. */
  readonly compatMaxJsonDepth: number;
  /** STUN/TURN servers for GetIceServers. */
  readonly ice: IceConfig;
  /** grpc.health.v1.Health Watch streams open at once. */
  readonly maxHealthWatchStreams: number;
  /** Time between checks that the store can be reached, for grpc.health.v1.Health. */
  readonly storeHealthIntervalMs: number;
  /** Origins whose browser scripts may call the API (CORS); empty: CORS closed; `*`: any origin. */
  readonly corsAllowedOrigins: readonly string[];
  /** Whether the browser demo is served at /demo. */
  readonly demo: boolean;
  /** What a server-streaming response may hold for a client that reads slowly. */
  readonly streams: StreamQueueLimits;
  /** Caps and timeouts of the TCP connections on the port. */
  readonly connections: ConnectionLimits;
  /**
   * Whether plain unary and server-streaming Connect and gRPC calls take the
   * lean path (src/server/lean/) rather than connect-node's adapter; both run
   * the same implementations, interceptors and limits.
   */
  readonly leanPath: boolean;
  /** Origins besides its own that the demo page's `?api=` may name (and its CSP connect-src lists). */
  readonly demoApiOrigins: readonly string[];
  /** Where a call's client address comes from: the TCP peer, or a trusted proxy's header. */
  readonly clientAddress: TrustedProxySettings;
  /** Per-client token buckets by method class. */
  readonly rateLimits: RateLimitOptions;
  /** Prometheus metrics at GET /metrics. */
  readonly metrics: {
    readonly enabled: boolean;
    /** A port serving only /metrics (0: a free one); undefined: /metrics is on the main port. */
    readonly port: number | undefined;
  };
  /** OpenTelemetry tracing; undefined when off (no OTLP endpoint). */
  readonly tracing: TracingConfig | undefined;
}

export interface TracingConfig {
  /** OTLP/HTTP base URL; spans go to its /v1/traces. */
  readonly endpoint: string;
  /** The `service.name` of every span. */
  readonly serviceName: string;
  /** Share of new traces recorded (0 to 1); a client's sampled flag is followed. */
  readonly sampleRatio: number;
}

type Parser<T> = (text: string) => T;

interface Setting<T> {
  readonly flag: string;
  readonly env: string;
  readonly default: T;
  readonly parse: Parser<T>;
  readonly description: string;
  /** A conventional variable also read, after `env` (e.g. MONGODB_URI). */
  readonly envAlias?: string;
  /** The value may hold a secret (a password, a credential): an error about it never repeats it. */
  readonly secret?: boolean;
}

function setting<T>(flag: string, defaultValue: T, parse: Parser<T>, description: string, envAlias?: string): Setting<T> {
  const env = `SWITCHBOARD_${flag.toUpperCase().replaceAll("-", "_")}`;
  return { flag, env, default: defaultValue, parse, description, ...(envAlias !== undefined && { envAlias }) };
}

/** A setting whose value may hold a secret: its errors never quote the value. */
function secretSetting<T>(...args: Parameters<typeof setting<T>>): Setting<T> {
  return { ...setting(...args), secret: true };
}

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> =>
  (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
      throw new Error(`must be a whole number from ${min} to ${max}`);
    }
    return value;
  };

const oneOf =
  <T extends string>(choices: readonly T[]): Parser<T> =>
  (text) => {
    if (!(choices as readonly string[]).includes(text)) throw new Error(`must be one of ${choices.join(", ")}`);
    return text as T;
  };

type OnOff = "on" | "off";

/** A switch: `on` or `off`. */
const onOff = oneOf<OnOff>(["on", "off"]);

const nonEmpty: Parser<string> = (text) => {
  if (text.trim() === "") throw new Error("must not be empty");
  return text.trim();
};

/** A rate such as `60/m`, or `0`; kept as text so the table and --help show it as written. */
const rate: Parser<string> = (text) => {
  parseRate(text);
  return text.trim();
};

/** Empty, or a port number. */
const optionalPort: Parser<number | ""> = (text) => (text.trim() === "" ? "" : integer(0, 65535)(text));

/** Empty, or an http(s) URL. */
const optionalHttpUrl: Parser<string> = (text) => {
  const trimmed = text.trim();
  if (trimmed === "") return "";
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new Error("must be an http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("must be an http:// or https:// URL");
  return trimmed;
};

const ratio: Parser<number> = (text) => {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0 || value > 1) throw new Error("must be a number from 0 to 1");
  return value;
};

const writeConcern: Parser<"majority" | number> = (text) => (text.trim() === "majority" ? "majority" : integer(0, 50)(text));

/** Every setting, in the order `--help` and the README list them. */
export const settings = {
  host: setting("host", "0.0.0.0", nonEmpty, "Address to listen on."),
  port: setting("port", 8080, integer(0, 65535), "Port for Connect, gRPC, gRPC-Web and /healthz (0 picks a free one)."),
  store: setting(
    "store",
    "memory" as "memory" | "mongodb",
    oneOf(["memory", "mongodb"] as const),
    "Channel store: `memory` (embedded, one process) or `mongodb` (shared by every process using the same collection).",
  ),
  logLevel: setting("log-level", "info" as LogLevel, oneOf(logLevels), "Least severe log level written: debug, info, warn, error."),
  defaultTtlSeconds: setting("default-ttl-seconds", 300, integer(1), "Time to live of a channel created without one."),
  minTtlSeconds: setting("min-ttl-seconds", 10, integer(1), "Shortest time to live; shorter requests are raised to it."),
  maxTtlSeconds: setting("max-ttl-seconds", 3600, integer(1), "Longest time to live; longer requests are lowered to it."),
  maxSdpBytes: setting("max-sdp-bytes", 65536, integer(1), "Largest SDP of an offer or answer, in bytes."),
  maxCandidateBytes: setting("max-candidate-bytes", 2048, integer(1), "Largest ICE candidate (all its text fields), in bytes."),
  maxCandidatesPerSide: setting("max-candidates-per-side", 128, integer(1), "ICE candidates one side of a channel may hold."),
  maxChannels: setting("max-channels", 100000, integer(1), "Channels held at once: by this process (memory store), or by all processes sharing the collection (MongoDB, exact)."),
  maxChannelBytes: setting("max-channel-bytes", 262144, integer(1024), "Bytes one channel holds: offer + answer + every ICE candidate's text."),
  maxStoreBytes: setting("max-store-bytes", 268435456, integer(65536), "Bytes all channels of this process hold together (memory store), so max-channels × the largest channel cannot exceed memory."),
  maxWatchStreams: setting("max-watch-streams", 20000, integer(1), "WatchChannel streams open at once in this process (and, counted apart, WatchRoom streams)."),
  maxWatchersPerChannel: setting("max-watchers-per-channel", 8, integer(1), "WatchChannel streams open at once on one channel."),
  keepAliveIntervalMs: setting("keep-alive-interval-ms", 15000, integer(100), "Idle time after which a watch stream sends a keep-alive (up to 1/16 of it earlier: all streams share one timer)."),
  maxRequestBytes: setting("max-request-bytes", 262144, integer(1024), "Largest request message, in bytes."),
  maxTimeoutMs: setting("max-timeout-ms", 0, integer(0), "Longest deadline a client may ask for, in ms (longer ones get INVALID_ARGUMENT); 0 for no cap."),
  shutdownGraceMs: setting("shutdown-grace-ms", 10000, integer(0), "Time in-flight calls get to finish after SIGTERM/SIGINT."),
  mongodbUri: secretSetting("mongodb-uri", "mongodb://127.0.0.1:27017", nonEmpty, "MongoDB connection string (never logged); MONGODB_URI is read too.", "MONGODB_URI"),
  mongodbDatabase: setting("mongodb-database", "switchboard", nonEmpty, "MongoDB database of the channel collection."),
  mongodbCollection: setting("mongodb-collection", "channels", nonEmpty, "MongoDB collection holding one document per channel."),
  mongodbRoomCollection: setting("mongodb-room-collection", "rooms", nonEmpty, "MongoDB collection holding one document per room; its events go to `<name>.events`."),
  mongodbWriteConcern: setting("mongodb-write-concern", "majority" as "majority" | number, writeConcern, "Write concern `w` of every write: `majority` or a number of members."),
  mongodbWatchMode: setting("mongodb-watch-mode", "auto" as "auto" | "change-stream" | "poll", oneOf(["auto", "change-stream", "poll"] as const), "How watchers learn of other processes' changes: `auto` (change streams on a replica set, else polling), `change-stream` or `poll`."),
  mongodbPollIntervalMs: setting("mongodb-poll-interval-ms", 200, integer(10, 60000), "Time between polls for the channels and rooms this process watches (one query per collection), between expiry checks of watches, and between checks for room members past their session timeout."),
  mongodbServerSelectionTimeoutMs: setting("mongodb-server-selection-timeout-ms", 2000, integer(100), "How long a call waits for a reachable MongoDB before failing with UNAVAILABLE."),
  mongodbSocketTimeoutMs: setting("mongodb-socket-timeout-ms", 10000, integer(1000), "How long a call waits for MongoDB's reply on a connection (or a new connection's handshake) before the connection is closed and the call fails with UNAVAILABLE (a write is retried once on a new connection); above the longest write the deployment takes (`majority` writes wait for secondaries)."),
  mongodbSweepIntervalMs: setting("mongodb-sweep-interval-ms", 10000, integer(100), "Time between deletions of expired channels, rooms and room events where the server has no TTL indexes (FerretDB)."),
  compatApi: setting("compat-api", "off" as OnOff, onOff, "Serve the Lambda-style JSON endpoint (`on` or `off`); it has no tokens, so it is off unless a client needs it."),
  compatPath: setting("compat-path", "/", parseCompatPath, "Path of the JSON endpoint; only POST to exactly this path reaches it."),
  compatMaxJsonDepth: setting("compat-max-json-depth", 32, integer(1, 1000), "Deepest nesting of arrays and objects the JSON endpoint accepts in a request body (deeper ones get 400)."),
  iceServers: secretSetting("ice-servers", "", validIceServers, "Static STUN/TURN servers for GetIceServers: a JSON array of RTCIceServer objects (empty: none)."),
  turnRestUrls: setting("turn-rest-urls", [] as string[], parseTurnUrls, "Comma-separated turn:/turns: URLs that get TURN REST credentials (coturn use-auth-secret)."),
  turnRestSecret: secretSetting("turn-rest-secret", "", anyText, "Secret shared with those TURN servers (static-auth-secret); prefer the variable to the flag."),
  turnRestSecretFile: setting("turn-rest-secret-file", "", readableFile, "File holding that secret, instead of --turn-rest-secret."),
  turnCredentialTtlSeconds: setting("turn-credential-ttl-seconds", 3600, integer(60, 7 * 86400), "How long a minted TURN credential is accepted."),
  iceRequireToken: setting("ice-require-token", "on" as OnOff, onOff, "`on`: GetIceServers answers only a caller presenting a live channel's token or a room session; `off`: anyone."),
  maxHealthWatchStreams: setting("max-health-watch-streams", 1000, integer(1), "grpc.health.v1.Health Watch streams open at once."),
  storeHealthIntervalMs: setting("store-health-interval-ms", 2000, integer(100), "Time between checks that the store can be reached; grpc.health.v1.Health reports NOT_SERVING while it cannot."),
  corsAllowedOrigins: setting("cors-allowed-origins", [] as readonly string[], parseOrigins, "Comma-separated origins (e.g. `https://app.example.com`) whose browser scripts may call the API; `*` for any; empty: CORS closed."),
  demo: setting("demo", "on" as OnOff, onOff, "Serve the browser demo page at /demo (`on` or `off`)."),
  leanPath: setting("lean-path", "on" as OnOff, onOff, "`on`: uncompressed unary and server-streaming Connect (POST) and gRPC calls skip connect-node's adapter for a leaner path with the same handlers, interceptors and limits; `off`: connect-node serves every call."),
  demoApiOrigins: setting("demo-api-origins", [] as readonly string[], parseDemoOrigins, "Comma-separated origins besides its own that the demo page's `?api=` may point at; its Content-Security-Policy allows exactly these."),
  roomDefaultSeats: setting("room-default-seats", 2, integer(1), "Seats of a room whose creating JoinRoom gives none."),
  roomMaxSeats: setting("room-max-seats", 16, integer(1, 10000), "Most seats a JoinRoom may ask for."),
  roomSessionTimeoutMs: setting("room-session-timeout-ms", 30000, integer(1000), "How long a room member keeps its seat without a WatchRoom stream or RenewSession; also how long an empty room is kept."),
  roomMaxMessageBytes: setting("room-max-message-bytes", 65536, integer(1), "Largest SendMessage body, in bytes."),
  roomMaxBacklogBytes: setting("room-max-backlog-bytes", 262144, integer(1024), "Bytes of events a room keeps for members that reconnect with after_sequence (each event counts its text plus 64)."),
  maxRooms: setting("max-rooms", 10000, integer(1), "Rooms held at once, empty ones awaiting deletion included."),
  roomMaxWatchersPerSession: setting("room-max-watchers-per-session", 2, integer(1), "WatchRoom streams open at once for one member's session."),
  streamMaxQueuedBytes: setting("stream-max-queued-bytes", 1048576, integer(1024), "Bytes of messages one WatchChannel, WatchRoom or Health Watch stream may hold for a client that reads slower than they come; past it the stream ends with RESOURCE_EXHAUSTED (resume from the last version or sequence received)."),
  streamMaxQueuedMessages: setting("stream-max-queued-messages", 1000, integer(1), "Messages one stream may hold for a slow client; past it the stream ends the same way."),
  streamMaxQueuedBytesTotal: setting("stream-max-queued-bytes-total", 268435456, integer(1024), "Bytes all streams of the process may hold for slow clients together; past it, the stream whose message does not fit ends the same way."),
  streamOverflowGraceMs: setting("stream-overflow-grace-ms", 15000, integer(100), "Time a stream ended for falling behind gets for its client to read on to its RESOURCE_EXHAUSTED status; a client that does not is reset at the transport (HTTP/2 RST_STREAM ENHANCE_YOUR_CALM, HTTP/1.1 connection closed)."),
  maxConnections: setting("max-connections", 25000, integer(1), "TCP connections open at once on the port; more are closed as they arrive."),
  maxConnectionsPerClient: setting("max-connections-per-client", 1000, integer(1), "TCP connections open at once from one TCP peer address; peers in --trusted-proxies are exempt (max-connections still counts them)."),
  headersTimeoutMs: setting("headers-timeout-ms", 10000, integer(100), "Time a new connection gets to send the HTTP/2 preface or its first HTTP/1.1 request headers, and each later HTTP/1.1 request its headers; then it is closed (HTTP/1.1: 408)."),
  requestTimeoutMs: setting("request-timeout-ms", 60000, integer(100), "Time a request gets to arrive whole, headers and body (an HTTP/2 stream: until the client ends its side); then HTTP/1.1 gets 408 and the connection is closed, an HTTP/2 stream is reset (RST_STREAM CANCEL)."),
  idleTimeoutMs: setting("idle-timeout-ms", 60000, integer(100), "An HTTP/2 connection with no open stream, or an HTTP/1.1 connection between requests, is closed after this long."),
  http2MaxConcurrentStreams: setting("http2-max-concurrent-streams", 1000, integer(1, 2 ** 31 - 1), "Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused."),
  http2StreamResetBurst: setting("http2-stream-reset-burst", 10000, integer(1), "Streams one HTTP/2 connection may reset (RST_STREAM) at once before http2-stream-reset-rate applies; past both it gets GOAWAY (the bound on rapid-reset floods). Node's own 1,000 and 33/s are reached by one proxy connection carrying many clients' cancelled watches."),
  http2StreamResetRate: setting("http2-stream-reset-rate", 1000, integer(1), "Streams one HTTP/2 connection may reset per second once its http2-stream-reset-burst is spent."),
  maxTokenlessWatchersPerClient: setting("max-tokenless-watchers-per-client", 100, integer(1), "WatchChannel streams one client address may hold open without a channel token (answerers waiting for an offer; they take none of a channel's slots): room for an office behind one NAT address; max-watch-streams bounds them in total."),
  trustedProxies: setting("trusted-proxies", [] as readonly string[], parseTrustedProxies, "Comma-separated addresses and CIDR ranges of proxies whose --client-address-header names the client; empty: the TCP peer is the client."),
  clientAddressHeader: setting("client-address-header", "x-forwarded-for" as ClientAddressHeader, oneOf(clientAddressHeaders), "The header trusted proxies write: `x-forwarded-for` or `forwarded` (RFC 7239)."),
  rateLimitCreate: setting("rate-limit-create", "60/m", rate, "Per client: CreateChannel, JoinRoom and GetIceServers calls (and the JSON endpoint's create_data_channel), as `<count>/<s|m|h>` (bursts up to count); 0: no limit."),
  rateLimitWrite: setting("rate-limit-write", "1200/m", rate, "Per client: SetOffer, SetAnswer, AddIceCandidate(s), CloseChannel, SendMessage, RenewSession and LeaveRoom calls (and the JSON endpoint's create_offer, create_answer, create_candidate); 0: no limit."),
  rateLimitRead: setting("rate-limit-read", "1200/m", rate, "Per client: every other unary call (GetOffer, GetChannel, GetRoom, health Check, ...) and every other JSON endpoint request; 0: no limit."),
  rateLimitStream: setting("rate-limit-stream", "120/m", rate, "Per client: streams opened (WatchChannel, WatchRoom, health Watch, reflection); 0: no limit."),
  rateLimitMaxClients: setting("rate-limit-max-clients", 100000, integer(1), "Rate-limit budgets (client address or token, per class) held at once; the least recently used is forgotten first."),
  metrics: setting("metrics", "on" as OnOff, onOff, "Serve Prometheus metrics at GET /metrics (`on` or `off`; off also skips counting)."),
  metricsPort: setting("metrics-port", "" as number | "", optionalPort, "Port serving only GET /metrics, which the main port then no longer serves (0 picks a free one); empty: /metrics on the main port."),
  otlpEndpoint: setting("otlp-endpoint", "", optionalHttpUrl, "OpenTelemetry collector (OTLP/HTTP, protobuf) base URL, e.g. `http://collector:4318`: each RPC becomes a span, sent to its /v1/traces. Empty: tracing off.", "OTEL_EXPORTER_OTLP_ENDPOINT"),
  tracingServiceName: setting("tracing-service-name", "switchboard", nonEmpty, "The service.name of the spans.", "OTEL_SERVICE_NAME"),
  tracingSampleRatio: setting("tracing-sample-ratio", 1, ratio, "Share of new traces recorded, 0 to 1; a call whose traceparent says sampled (or not) follows its client."),
} satisfies Record<string, Setting<unknown>>;

/** Origins for the demo's `?api=`: like --cors-allowed-origins, but never `*` (the page's CSP names each). */
function parseDemoOrigins(text: string): readonly string[] {
  const origins = parseOrigins(text);
  if (origins.includes("*")) throw new Error("must name each origin; `*` is not accepted");
  return origins;
}

type Settings = typeof settings;
type Values = { [K in keyof Settings]: Settings[K]["default"] };

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Result of reading the command line: the config, or a request for help. */
export type ConfigResult = { readonly help: true } | { readonly help: false; readonly config: Config };

/** Reads flags first, then SWITCHBOARD_* variables, then defaults. Throws ConfigError with every problem found. */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const options = Object.fromEntries([
    ["help", { type: "boolean" as const, short: "h" }],
    ...Object.values(settings).map((s) => [s.flag, { type: "string" as const }]),
  ]);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (error) {
    // A stray argument is not quoted back: it may be part of a secret-bearing value split by the shell.
    const stray = (error as NodeJS.ErrnoException).code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL";
    const message = stray ? "unexpected argument (not shown); every setting is --name value or --name=value, quoted if it holds spaces" : (error as Error).message;
    throw new ConfigError(`${message}\nRun with --help to list the settings.`);
  }
  if (parsed.values["help"]) return { help: true };

  const problems: string[] = [];
  const values = {} as Record<string, unknown>;
  for (const [key, s] of Object.entries(settings) as [string, Setting<unknown>][]) {
    const fromFlag = parsed.values[s.flag];
    const raw = typeof fromFlag === "string" ? fromFlag : (env[s.env] ?? (s.envAlias === undefined ? undefined : env[s.envAlias]));
    if (raw === undefined) {
      values[key] = s.default;
      continue;
    }
    try {
      values[key] = s.parse(raw);
    } catch (error) {
      problems.push(`--${s.flag} / ${s.env}: ${(error as Error).message}${s.secret ? "" : ` (got "${raw}")`}`);
    }
  }
  const v = values as Values;
  if (problems.length === 0 && !(v.minTtlSeconds <= v.defaultTtlSeconds && v.defaultTtlSeconds <= v.maxTtlSeconds)) {
    problems.push(
      `--default-ttl-seconds (${v.defaultTtlSeconds}) must lie between --min-ttl-seconds (${v.minTtlSeconds}) and --max-ttl-seconds (${v.maxTtlSeconds}); change one of them`,
    );
  }
  if (problems.length === 0 && v.roomDefaultSeats > v.roomMaxSeats) {
    problems.push(`--room-default-seats (${v.roomDefaultSeats}) must not exceed --room-max-seats (${v.roomMaxSeats}); lower the one or raise the other`);
  }
  if (problems.length === 0 && v.roomMaxBacklogBytes < v.roomMaxMessageBytes + 64) {
    problems.push(
      `--room-max-backlog-bytes (${v.roomMaxBacklogBytes}) must hold at least one message of --room-max-message-bytes (${v.roomMaxMessageBytes}) plus 64; raise the backlog or lower the message size`,
    );
  }
  if (problems.length === 0 && v.metrics === "off" && v.metricsPort !== "") {
    problems.push(`--metrics-port is ${v.metricsPort} but --metrics is off; drop one of them`);
  }
  const ice = problems.length === 0 ? iceConfig(v) : undefined;
  problems.push(...(ice?.problems ?? []));
  // One problem is one line; several are one line each below the heading.
  if (problems.length === 1) throw new ConfigError(`invalid configuration: ${problems[0]}`);
  if (problems.length > 0 || !ice) throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  return { help: false, config: toConfig(v, ice.config) };
}

function toConfig(v: Values, ice: IceConfig): Config {
  return {
    host: v.host,
    port: v.port,
    store: v.store,
    mongodb: {
      uri: new Secret(v.mongodbUri),
      database: v.mongodbDatabase,
      collection: v.mongodbCollection,
      roomCollection: v.mongodbRoomCollection,
      writeConcern: v.mongodbWriteConcern,
      watchMode: v.mongodbWatchMode,
      pollIntervalMs: v.mongodbPollIntervalMs,
      serverSelectionTimeoutMs: v.mongodbServerSelectionTimeoutMs,
      socketTimeoutMs: v.mongodbSocketTimeoutMs,
      sweepIntervalMs: v.mongodbSweepIntervalMs,
    },
    logLevel: v.logLevel,
    limits: {
      maxSdpBytes: v.maxSdpBytes,
      maxCandidateBytes: v.maxCandidateBytes,
      defaultTtlMs: v.defaultTtlSeconds * 1000,
      minTtlMs: v.minTtlSeconds * 1000,
      maxTtlMs: v.maxTtlSeconds * 1000,
      maxWatchStreams: v.maxWatchStreams,
      maxWatchersPerChannel: v.maxWatchersPerChannel,
      keepAliveIntervalMs: v.keepAliveIntervalMs,
      maxChannels: v.maxChannels,
      maxCandidatesPerSide: v.maxCandidatesPerSide,
      maxChannelBytes: v.maxChannelBytes,
      maxStoreBytes: v.maxStoreBytes,
      maxTokenlessWatchersPerClient: v.maxTokenlessWatchersPerClient,
    },
    rooms: {
      defaultSeats: v.roomDefaultSeats,
      maxSeats: v.roomMaxSeats,
      sessionTimeoutMs: v.roomSessionTimeoutMs,
      maxMessageBytes: v.roomMaxMessageBytes,
      maxBacklogBytes: v.roomMaxBacklogBytes,
      maxRooms: v.maxRooms,
      maxWatchStreams: v.maxWatchStreams,
      maxWatchersPerSession: v.roomMaxWatchersPerSession,
      keepAliveIntervalMs: v.keepAliveIntervalMs,
    },
    maxRequestBytes: v.maxRequestBytes,
    maxTimeoutMs: v.maxTimeoutMs,
    shutdownGraceMs: v.shutdownGraceMs,
    compatPath: v.compatApi === "on" ? v.compatPath : undefined,
    compatMaxJsonDepth: v.compatMaxJsonDepth,
    ice,
    maxHealthWatchStreams: v.maxHealthWatchStreams,
    storeHealthIntervalMs: v.storeHealthIntervalMs,
    corsAllowedOrigins: v.corsAllowedOrigins,
    demo: v.demo === "on",
    streams: {
      maxQueuedBytes: v.streamMaxQueuedBytes,
      maxQueuedMessages: v.streamMaxQueuedMessages,
      maxQueuedBytesTotal: v.streamMaxQueuedBytesTotal,
      overflowGraceMs: v.streamOverflowGraceMs,
    },
    connections: {
      maxConnections: v.maxConnections,
      maxConnectionsPerClient: v.maxConnectionsPerClient,
      headersTimeoutMs: v.headersTimeoutMs,
      requestTimeoutMs: v.requestTimeoutMs,
      idleTimeoutMs: v.idleTimeoutMs,
      http2MaxConcurrentStreams: v.http2MaxConcurrentStreams,
      http2StreamResetBurst: v.http2StreamResetBurst,
      http2StreamResetRate: v.http2StreamResetRate,
    },
    leanPath: v.leanPath === "on",
    demoApiOrigins: v.demoApiOrigins,
    clientAddress: { trustedProxies: v.trustedProxies, header: v.clientAddressHeader },
    rateLimits: {
      rates: {
        create: parseRate(v.rateLimitCreate),
        write: parseRate(v.rateLimitWrite),
        read: parseRate(v.rateLimitRead),
        stream: parseRate(v.rateLimitStream),
      },
      maxClients: v.rateLimitMaxClients,
    },
    metrics: { enabled: v.metrics === "on", port: v.metricsPort === "" ? undefined : v.metricsPort },
    tracing: v.otlpEndpoint === "" ? undefined : { endpoint: v.otlpEndpoint, serviceName: v.tracingServiceName, sampleRatio: v.tracingSampleRatio },
  };
}

/** The built-in defaults, with any field overridden; for tests and embedding. */
export function defaultConfig(): Config {
  const result = loadConfig([], {});
  if (result.help) throw new Error("unreachable");
  return result.config;
}

/** The README's configuration table (Markdown), one row per setting; `npm run docs:config` prints it. */
export function configTable(): string {
  const rows = Object.values(settings).map((s: Setting<unknown>) => {
    const env = s.envAlias ? `\`${s.env}\` or \`${s.envAlias}\`` : `\`${s.env}\``;
    const value = Array.isArray(s.default) ? s.default.join(",") : String(s.default);
    return `| \`--${s.flag}\` | ${env} | ${value === "" ? "(none)" : `\`${value}\``} | ${s.description} |`;
  });
  return ["| flag | environment variable | default | meaning |", "|---|---|---|---|", ...rows].join("\n") + "\n";
}

/** The `--help` text: one row per setting with its flag, variable and default. */
export function helpText(): string {
  const rows = Object.values(settings).map(
    (s: Setting<unknown>) =>
      `  --${s.flag} <value>\n      ${s.env}${s.envAlias ? ` or ${s.envAlias}` : ""} (default: ${String(s.default)})\n      ${s.description.replaceAll("`", "")}`,
  );
  return `Usage: switchboard [options]\n\nEvery option can also be set by its environment variable; a flag wins.\n\n${rows.join("\n")}\n  --help\n      Show this text.\n`;
}
