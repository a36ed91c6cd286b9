import type * as http from "node:http";
import type * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { Broadcast } from "../lib/broadcast.js";
import type { Clock } from "../lib/clock.js";
import { systemClock } from "../lib/clock.js";
import { createCompatApi } from "../service/compat/compat-api.js";
import { createIceService } from "../service/ice-service.js";
import { createRoomService } from "../service/room-service.js";
import type { RoomStore } from "../store/room-store.js";
import { createSignalingService } from "../service/signaling-service.js";
import { StreamQueues } from "../service/stream-queue.js";
import type { ChannelStore } from "../store/store.js";
import { channelOperations } from "../store/store.js";
import { compatEndpoint } from "./compat/compat-endpoint.js";
import type { Config } from "./config.js";
import { withCors } from "./cors.js";
import { defaultDemoDir, demoRoute } from "./demo.js";
import { landingRoute } from "./landing.js";
import { listenStartupError } from "./startup-error.js";
import { listenAddress } from "./listen-address.js";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";
import { SignalingService } from "../../gen/signaling/v1/signaling_pb.js";
import { RoomService } from "../../gen/signaling/v1/room_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/health/v1/health_pb.js";
import { createHealthService } from "./health/health-service.js";
import { HealthStatus, livenessService } from "./health/health-status.js";
import type { SpanExporter } from "@opentelemetry/sdk-trace";
import { instrumentStore } from "./instrumented-store.js";
import { isScrape, MetricsListener, serveScrape } from "./metrics/metrics-endpoint.js";
import { ServerMetrics } from "./metrics/server-metrics.js";
import { callPipeline } from "./pipeline/index.js";
import type { Tracing } from "./tracing.js";
import { callContextValues, clientAddressResolver, trustedProxyCheck } from "./pipeline/client-address.js";
import { probeStoreHealth } from "./store-health-probe.js";
import routes from "./routes.js";
import { DualProtocolListener } from "./listener.js";
import type { StreamHandler } from "./listener.js";
import { createRateLimiter } from "./pipeline/rate-limit.js";
import { openStores } from "./store-factory.js";
import type { RpcOptions } from "./lean/lean-path.js";
import { rpcRoute } from "./rpc-route.js";
import { IceService } from "../../gen/signaling/v1/ice_pb.js";
import { assertConnectFixes } from "./connect-fixes.js";

/**
 * The services the lean path may serve (when `lean-path` is on); health and
 * reflection always go through connect-node.
 */
const leanServices = [SignalingService, IceService, RoomService];

// Time the error responses of calls cut at the end of the grace period get to reach their clients.
const responseFlushMs = 1000;

export interface ServerOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** A store to use instead of the one the config names. */
  readonly store?: ChannelStore;
  /** A room store to use instead of the one the config names. */
  readonly roomStore?: RoomStore;
  /** Where the demo's built files are, instead of dist/demo. */
  readonly demoDir?: string;
  /** Turns tracing on, exporting every span here at once instead of to the OTLP endpoint (tests: InMemorySpanExporter). */
  readonly spanExporter?: SpanExporter;
}

export interface RunningServer {
  /** The port actually listened on (useful with port 0). */
  readonly port: number;
  /** http://host:port to reach it from this machine: the loopback address when listening on every address. */
  readonly url: string;
  readonly store: ChannelStore;
  readonly roomStore: RoomStore;
  /** The port of --metrics-port's listener, when it is set. */
  readonly metricsPort: number | undefined;
  /** What grpc.health.v1.Health and /healthz report; set a service NOT_SERVING while it cannot work. */
  readonly health: HealthStatus;
  /** WatchChannel streams open now. */
  openWatchStreams(): number;
  /** WatchRoom streams open now. */
  openRoomStreams(): number;
  /**
   * Graceful stop: refuse new connections, end watch streams with
   * UNAVAILABLE, let in-flight calls finish for up to `graceMs`, then cut
   * what is left and close the store.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Builds config → store → services → routes → listener, and listens. */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  await assertConnectFixes();
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const { store, roomStore } = await openStores(config, clock, logger, {
    ...(options.store && { store: options.store }),
    ...(options.roomStore && { roomStore: options.roomStore }),
  });
  const metrics = config.metrics.enabled ? new ServerMetrics({ store, roomStore }) : undefined;
  const tracing = await loadTracing(config, options.spanExporter);
  // What the services see: the stores timed, counted and traced.
  const observedStore = instrumentStore(store, "channels", metrics, tracing?.storeSpans, channelOperations);
  const observedRoomStore = instrumentStore(roomStore, "rooms", metrics, tracing?.storeSpans);
  // One bound for what every stream holds for slow clients, per stream and in total.
  // A stream that overflowed and whose client does not read on to its ending within stream-overflow-grace-ms is cut.
  const streamQueues = new StreamQueues(config.streams);
  const signaling = createSignalingService({ store: observedStore, clock, limits: config.limits, streamQueues, ice: config.ice });
  const rooms = createRoomService({ store: observedRoomStore, clock, limits: config.rooms, streamQueues });
  const health = new HealthStatus([SignalingService.typeName, RoomService.typeName, livenessService]);
  const stopStoreProbes = [
    probeStoreHealth(store, health, SignalingService.typeName, config.storeHealthIntervalMs, logger),
    probeStoreHealth(roomStore, health, RoomService.typeName, config.storeHealthIntervalMs, logger),
  ];

  // Not AbortSignals: every call joins both, and a shared signal costs O(open calls) per call (see Broadcast).
  const shutdownCalls = new Broadcast<ConnectError>();
  const cutCalls = new Broadcast<ConnectError>();
  // One limiter and one client-address resolver for RPCs and the JSON endpoint: they share the budgets.
  const rateLimiter = createRateLimiter(config.rateLimits);
  const clientAddress = clientAddressResolver(config.clientAddress);
  const pipeline = {
    logger,
    cut: cutCalls,
    ...(metrics && { metrics: { metrics, streamKinds } }),
    ...(tracing && { tracing: tracing.interceptor }),
    rateLimits: rateLimiter,
  };
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  // One function for every call (an open stream holds no closure or once() wrapper of its own for it).
  const callClosed = () => {
    if (--inFlight === 0) idle?.();
  };
  /** Counts a call in flight until `closes` (its response or its HTTP/2 stream) emits "close". */
  const countCall = (closes: { on(event: "close", listener: () => void): unknown }) => {
    inFlight++;
    closes.on("close", callClosed);
  };

  // One set of options for both routes: connect-node's adapter and the lean path.
  const rpcOptions: RpcOptions = {
    readMaxBytes: config.maxRequestBytes,
    // Connect reads 0 as "no deadline allowed"; our 0 means no cap.
    ...(config.maxTimeoutMs > 0 && { maxTimeoutMs: config.maxTimeoutMs }),
    shutdown: shutdownCalls,
    interceptors: callPipeline(pipeline),
    contextValues: callContextValues(clientAddress),
  };
  const rpc = rpcRoute({
    ...rpcOptions,
    routes: routes({
      signaling: signaling.impl,
      ice: createIceService({ store: observedStore, roomStore, clock, ice: config.ice }),
      rooms: rooms.impl,
      health: createHealthService(health, { maxWatchStreams: config.maxHealthWatchStreams, streamQueues }),
    }),
    leanServices: config.leanPath ? leanServices : [],
  });

  const compat =
    config.compatPath === undefined
      ? undefined
      : compatEndpoint({
          path: config.compatPath,
          maxBodyBytes: config.maxRequestBytes,
          maxJsonDepth: config.compatMaxJsonDepth,
          api: createCompatApi({ store: observedStore, clock, limits: config.limits }),
          logger,
          // GET / is the landing page.
          allow: config.compatPath === "/" ? "GET, HEAD, POST" : "POST",
          rateLimit: { limiter: rateLimiter, clientAddress },
          ...(metrics && { onLimitRejection: (setting: string) => metrics.limitRejection(setting).value++ }),
        });

  const demo = config.demo ? demoRoute(options.demoDir ?? defaultDemoDir(), config.demoApiOrigins) : undefined;
  const landing = landingRoute({ demo: config.demo, compatAtRoot: config.compatPath === "/" });
  let lastRefusalLog = 0;
  const onRefused = (reason: string, address: string) => {
    // At most one line a second: a flood of refused connections must not flood the log.
    if (Date.now() - lastRefusalLog < 1000) return;
    lastRefusalLog = Date.now();
    logger.warn("connection closed by a limit", { setting: reason, address });
  };
  const requests = withCors(config.corsAllowedOrigins, (req, res) => {
    if (req.url === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      void writeHealth(res, draining, health.get("") === ServingStatus.SERVING, store);
      return;
    }
    if (metrics && config.metrics.port === undefined && isScrape(req)) return serveScrape(metrics, req, res);
    if (demo?.(req, res)) return;
    if (landing(req, res)) return;
    countCall(res);
    if (compat?.matches(req)) compat.handle(req, res);
    else rpc.request(req, res);
  });
  // HTTP/2 calls the lean path serves, taken before Node builds request and response objects for them. A
  // cross-origin call (when CORS is open) and the JSON endpoint's path go the way above.
  const corsOpen = config.corsAllowedOrigins.length > 0;
  const takeStream: StreamHandler = (stream, headers) => {
    if (corsOpen && headers.origin !== undefined) return false;
    if (compat?.matchesPath(headers[":path"])) return false;
    if (!rpc.stream(stream, headers)) return false;
    countCall(stream);
    return true;
  };
  const listener = new DualProtocolListener(requests, {
    limits: config.connections,
    onRefused,
    exemptFromPerClientCap: trustedProxyCheck(config.clientAddress.trustedProxies),
    streams: takeStream,
  });

  let port: number;
  try {
    port = await listener.listen(config.port, config.host);
  } catch (error) {
    stopStoreProbes.forEach((stop) => stop());
    await tracing?.shutdown();
    await Promise.all([options.store ? undefined : store.close(), options.roomStore ? undefined : roomStore.close()]).catch(() => {});
    throw listenStartupError(error, config.host, config.port);
  }
  const { address, url, urls } = listenAddress(config.host, port);
  const metricsListener = metrics && config.metrics.port !== undefined ? new MetricsListener(metrics) : undefined;
  const metricsPort = await metricsListener?.listen(config.metrics.port!, config.host).catch(async (error: unknown) => {
    listener.stopAccepting();
    listener.destroyAll();
    await tracing?.shutdown();
    if (!options.store) await store.close();
    if (!options.roomStore) await roomStore.close();
    throw error;
  });
  logger.info("listening", {
    address,
    url,
    urls,
    store: config.store,
    ...(metricsPort !== undefined && { metricsPort }),
    tracing: tracing !== undefined,
  });

  const callsFinished = (timeoutMs: number) =>
    new Promise<void>((resolve) => {
      if (inFlight === 0) return resolve();
      idle = resolve;
      setTimeout(resolve, timeoutMs).unref();
    });

  let stopped: Promise<void> | undefined;
  const shutdown = (graceMs = config.shutdownGraceMs) =>
    (stopped ??= (async () => {
      draining = true;
      health.drain();
      stopStoreProbes.forEach((stop) => stop());
      logger.info("shutting down", { graceMs, openCalls: inFlight });
      listener.stopAccepting();
      shutdownCalls.fire(new ConnectError("the server is shutting down; reconnect", Code.Unavailable));
      await callsFinished(graceMs);
      cutCalls.fire(new ConnectError("the server stopped before this call finished; retry", Code.Unavailable));
      await callsFinished(responseFlushMs);
      // Let the last frames of finished and cut calls reach their clients before cutting connections.
      await listener.closed(responseFlushMs);
      listener.destroyAll();
      await Promise.all([store.close(), roomStore.close(), metricsListener?.close(), tracing?.shutdown()]);
      logger.info("stopped", { cutCalls: inFlight });
    })());

  return {
    port,
    url,
    store,
    roomStore,
    metricsPort,
    health,
    openWatchStreams: () => signaling.handlers.watchSlots.open,
    openRoomStreams: () => rooms.handlers.watchSlots.open,
    shutdown,
  };
}

/**
 * 200 while serving; 503 while draining, while a service is NOT_SERVING or while the store
 * cannot be reached, so balancers send traffic elsewhere.
 */
async function writeHealth(
  res: http.ServerResponse | http2.Http2ServerResponse,
  draining: boolean,
  servicesServing: boolean,
  store: ChannelStore,
): Promise<void> {
  const storeHealth = await store.health?.().catch(() => ({ ready: false, details: {} }));
  const storeReady = storeHealth?.ready ?? true;
  const status = draining ? "draining" : !storeReady ? "store-unavailable" : servicesServing ? "serving" : "not-serving";
  const body = JSON.stringify({ status, ...(storeHealth && { store: storeHealth.details }) });
  (res as http.ServerResponse).writeHead(status === "serving" ? 200 : 503, { "content-type": "application/json" });
  res.end(body);
}

/** The kind each service's server streams count under in switchboard_open_streams. */
const streamKinds: ReadonlyMap<string, string> = new Map([
  [SignalingService.typeName, "channel"],
  [RoomService.typeName, "room"],
  [Health.typeName, "health"],
]);

/** The tracing SDK when tracing is on (an OTLP endpoint, or a test's exporter); imported only then. */
async function loadTracing(config: Config, exporter: SpanExporter | undefined): Promise<Tracing | undefined> {
  if (!config.tracing && !exporter) return undefined;
  const { startTracing } = await import("./tracing.js");
  return startTracing({
    endpoint: config.tracing?.endpoint ?? "",
    serviceName: config.tracing?.serviceName ?? "switchboard",
    sampleRatio: config.tracing?.sampleRatio ?? 1,
    backend: config.store,
    ...(exporter && { exporter }),
  });
}
