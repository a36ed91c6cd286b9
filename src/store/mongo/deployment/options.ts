import type { W } from "mongodb";
import type { RoomLimits } from "../../room-store.js";
import type { StoreLimits } from "../../store.js";
import type { Secret } from "../../../lib/secret.js";

/** How channel changes made by other processes reach this one's watchers. */
export type WatchMode = "change-stream" | "poll";

export interface MongoStoreOptions {
  /** Connection string; may hold credentials, so it is never logged. */
  /** The connection string; a Secret keeps a password in it out of logs, JSON and inspect output. */
  readonly uri: string | Secret;
  readonly database: string;
  readonly collection: string;
  /** Write concern of every write (`majority` or a number of members); a write is acknowledged only once it holds. */
  readonly writeConcern: W;
  /** `auto` uses change streams where the deployment has them (replica set, sharded cluster), else polling. */
  readonly watchMode: WatchMode | "auto";
  /** Time between polls for watched channels, in ms, when polling. */
  readonly pollIntervalMs: number;
  /** How long a call waits for a reachable server before failing with `unavailable`, in ms. */
  readonly serverSelectionTimeoutMs: number;
  /**
   * How long a call waits for MongoDB's reply on a connection (or for a
   * new connection's handshake), in ms; then
   * the connection is closed and the call fails with `unavailable` (a
   * write is retried once on a new connection). Without it, a reply lost
   * with its server (a crash the connection never saw) is awaited forever.
   */
  readonly socketTimeoutMs: number;
  /** Time between deletions of expired documents, in ms, where the server has no TTL index. */
  readonly sweepIntervalMs: number;
  readonly limits: Pick<StoreLimits, "maxChannels" | "maxCandidatesPerSide" | "maxChannelBytes">;
}

/**
 * Options of the MongoDB room store: the same connection settings, with
 * `collection` naming the rooms collection (events go to
 * `<collection>.events`, FerretDB's write locks to `<collection>.locks`).
 */
export interface MongoRoomStoreOptions extends Omit<MongoStoreOptions, "limits"> {
  readonly limits: RoomLimits;
}

/** How long a closed channel's document stays so that polling processes learn it was closed, not expired. */
export const tombstoneMs = 30_000;

/** What the store writes to the server's log; the server's Logger fits. */
export interface StoreLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}
