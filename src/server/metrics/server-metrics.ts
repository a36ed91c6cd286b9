import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { RoomStore, RoomStoreStats } from "../../store/room-store.js";
import type { ChannelStore } from "../../store/store.js";
import type { HistogramCell, ValueCell } from "./cell-metric.js";
import { HistogramFamily, ValueFamily } from "./cell-metric.js";

/** Upper bounds of the RPC latency buckets, in seconds. */
export const rpcDurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Upper bounds of the store latency buckets, in seconds (the memory store answers in microseconds). */
export const storeDurationBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** What the live-state gauges read when scraped (the stores, unwrapped). */
export interface MetricSources {
  readonly store?: ChannelStore;
  readonly roomStore?: RoomStore;
}

/**
 * Every Prometheus metric of one server, in its own registry (so several
 * servers in one process, as in tests, never share counts). Names and labels
 * are the ones docs/observability.md lists; every label value comes from a
 * bounded set (descriptors, status codes, setting names), never from a request.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly rpcRequests = new ValueFamily(
    "switchboard_rpc_requests_total",
    "RPCs finished, by service, method, protocol (connect, grpc, grpc-web) and status code.",
    "counter",
    ["service", "method", "protocol", "code"],
    this.registry,
  );
  readonly rpcDuration = new HistogramFamily(
    "switchboard_rpc_duration_seconds",
    "Time from a call's arrival to its response (unary) or to its first message (server streaming), by method.",
    ["service", "method"],
    rpcDurationBuckets,
    this.registry,
  );
  readonly openStreams = new ValueFamily(
    "switchboard_open_streams",
    'Server-streaming calls open now, by kind: "channel" (WatchChannel), "room" (WatchRoom), "health" (Health.Watch).',
    "gauge",
    ["kind"],
    this.registry,
  );
  readonly storeDuration = new HistogramFamily(
    "switchboard_store_operation_duration_seconds",
    'Time of each store operation the services call, by store ("channels", "rooms") and operation.',
    ["store", "operation"],
    storeDurationBuckets,
    this.registry,
  );
  readonly storeErrors = new ValueFamily(
    "switchboard_store_operation_errors_total",
    "Store operations that failed for a reason other than the request (store unreachable, unexpected errors), by store and operation.",
    "counter",
    ["store", "operation"],
    this.registry,
  );
  readonly limitRejections = new ValueFamily(
    "switchboard_limit_rejections_total",
    "Calls refused with RESOURCE_EXHAUSTED by a configured limit, by the setting that refused them.",
    "counter",
    ["setting"],
    this.registry,
  );

  constructor(sources: MetricSources = {}) {
    collectDefaultMetrics({ register: this.registry });
    const { store, roomStore } = sources;
    if (store?.stats) {
      const stats = store.stats.bind(store);
      liveGauge(this.registry, "switchboard_live_channels", "Channels neither expired nor closed (a shared MongoDB store counts every process's).", async () => (await stats()).liveChannels);
    }
    if (roomStore?.stats) {
      const stats = onePerScrape(roomStore.stats.bind(roomStore));
      liveGauge(this.registry, "switchboard_live_rooms", "Rooms held, empty ones awaiting deletion included (a shared MongoDB store counts every process's).", async () => (await stats()).rooms);
      liveGauge(this.registry, "switchboard_room_members", "Members seated in rooms, over all rooms (a shared MongoDB store counts every process's).", async () => (await stats()).members);
    }
  }

  /** The counter cell of one limit's refusals (setting names are the config's flags: a bounded set). */
  limitRejection(setting: string): ValueCell {
    return this.limitRejections.cell(setting);
  }

  storeOperation(store: string, operation: string): { readonly duration: HistogramCell; readonly errors: ValueCell } {
    return { duration: this.storeDuration.cell(store, operation), errors: this.storeErrors.cell(store, operation) };
  }

  /** The text a scrape gets, and its content type. */
  async scrape(): Promise<{ readonly body: string; readonly contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/** A gauge read from the store at scrape time; NaN while the store cannot answer (the series shows a gap, not a stale value). */
function liveGauge(registry: Registry, name: string, help: string, read: () => Promise<number>): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      this.set(await read().catch(() => Number.NaN));
    },
  });
}

/** Shares one stats() call between the gauges a scrape reads at once (the registry asks them all in the same tick). */
function onePerScrape(stats: () => Promise<RoomStoreStats>): () => Promise<RoomStoreStats> {
  let pending: Promise<RoomStoreStats> | undefined;
  return () =>
    (pending ??= stats().finally(() => {
      pending = undefined;
    }));
}
