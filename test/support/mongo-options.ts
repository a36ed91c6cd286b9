import type { MongoStoreOptions } from "../../src/store/mongo/deployment/options.js";
import type { StoreLimits } from "../../src/store/store.js";
import type { StoreLogger } from "../../src/store/mongo/deployment/options.js";

/** Store options for tests: short intervals and a short server selection timeout. */
export function testMongoOptions(uri: string, database: string, limits: StoreLimits, overrides: Partial<MongoStoreOptions> = {}): MongoStoreOptions {
  return {
    uri,
    database,
    collection: "channels",
    writeConcern: "majority",
    watchMode: "auto",
    pollIntervalMs: 50,
    serverSelectionTimeoutMs: 1000,
    socketTimeoutMs: 10_000,
    sweepIntervalMs: 50,
    limits,
    ...overrides,
  };
}

/** A logger that keeps what it is given, for tests that read the log. */
export class RecordingLogger implements StoreLogger {
  readonly lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  info(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "info", msg, ...(fields && { fields }) });
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "warn", msg, ...(fields && { fields }) });
  }
}
