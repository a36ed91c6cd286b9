import type * as http from "node:http";
import type * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Clock } from "../lib/clock.js";
import { systemClock } from "../lib/clock.js";
import { createSignalingService } from "../service/signaling-service.js";
import type { ChannelStore } from "../store/store.js";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";
import { SignalingService } from "../../gen/signaling/v1/signaling_pb.js";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/health/v1/health_pb.js";
import { createHealthService } from "./health/health-service.js";
import { HealthStatus } from "./health/health-status.js";
import { requestLog } from "./request-log.js";
import routes from "./routes.js";
import { DualProtocolListener } from "./listener.js";
import { openStore } from "./store-factory.js";

export interface ServerOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** A store to use instead of the one the config names. */
  readonly store?: ChannelStore;
}

export interface RunningServer {
  /** The port actually listened on (useful with port 0). */
  readonly port: number;
  /** http://host:port, with a loopback host when listening on every address. */
  readonly url: string;
  readonly store: ChannelStore;
  /** What grpc.health.v1.Health and /healthz report; set a service NOT_SERVING while it cannot work. */
  readonly health: HealthStatus;
  /** WatchChannel streams open now. */
  openWatchStreams(): number;
  /**
   * Graceful stop: refuse new connections, end watch streams with
   * UNAVAILABLE, let in-flight calls finish for up to `graceMs`, then cut
   * what is left and close the store.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Builds config → store → services → routes → listener, and listens. */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const store = options.store ?? (await openStore(config, clock));
  const signaling = createSignalingService({ store, clock, limits: config.limits });
  const health = new HealthStatus([SignalingService.typeName]);

  const shutdownController = new AbortController();
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const rpcHandler = connectNodeAdapter({
    routes: routes({
      signaling: signaling.impl,
      health: createHealthService(health, { maxWatchStreams: config.maxHealthWatchStreams }),
    }),
    readMaxBytes: config.maxRequestBytes,
    // connect-node takes 0 as a cap of 0 ms; our 0 means no cap.
    maxTimeoutMs: config.maxTimeoutMs === 0 ? undefined : config.maxTimeoutMs,
    shutdownSignal: shutdownController.signal,
    interceptors: [requestLog(logger)],
  });

  const listener = new DualProtocolListener((req, res) => {
    if (req.url === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      writeHealth(res, draining ? "draining" : health.get("") === ServingStatus.SERVING ? "serving" : "not-serving");
      return;
    }
    inFlight++;
    res.once("close", () => {
      if (--inFlight === 0) idle?.();
    });
    rpcHandler(req, res);
  });

  const port = await listener.listen(config.port, config.host);
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  logger.info("listening", { url, store: config.store });

  let stopped: Promise<void> | undefined;
  const shutdown = (graceMs = config.shutdownGraceMs) =>
    (stopped ??= (async () => {
      draining = true;
      const deadline = Date.now() + graceMs;
      health.drain();
      logger.info("shutting down", { graceMs, openCalls: inFlight });
      listener.stopAccepting();
      shutdownController.abort(new ConnectError("the server is shutting down; reconnect", Code.Unavailable));
      await new Promise<void>((resolve) => {
        if (inFlight === 0) return resolve();
        idle = resolve;
        const timer = setTimeout(resolve, graceMs);
        timer.unref();
      });
      // Let finished calls' last frames reach their clients before cutting what is left.
      await listener.closed(deadline - Date.now());
      listener.destroyAll();
      await store.close();
      logger.info("stopped", { cutCalls: inFlight });
    })());

  return {
    port,
    url,
    store,
    health,
    openWatchStreams: () => signaling.handlers.watchSlots.open,
    shutdown,
  };
}

function writeHealth(
  res: http.ServerResponse | http2.Http2ServerResponse,
  status: "serving" | "not-serving" | "draining",
): void {
  const body = JSON.stringify({ status });
  (res as http.ServerResponse).writeHead(status === "serving" ? 200 : 503, { "content-type": "application/json" });
  res.end(body);
}
