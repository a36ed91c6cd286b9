import { MongoClient } from "mongodb";
import { revealed } from "../../../lib/secret.js";
import type { MongoStoreOptions } from "./options.js";

/** A client with the store's timeouts and write concern; it connects on first use. */
export function createClient(options: Pick<MongoStoreOptions, "uri" | "serverSelectionTimeoutMs" | "socketTimeoutMs" | "writeConcern">): MongoClient {
  return new MongoClient(revealed(options.uri), {
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs,
    socketTimeoutMS: options.socketTimeoutMs,
    // Opening a connection waits for replies too (the handshake); the driver's default is 30 s.
    connectTimeoutMS: options.socketTimeoutMs,
    writeConcern: { w: options.writeConcern },
    ignoreUndefined: true,
  });
}

/** A write holding the lock fails after at most a server selection timeout plus its own round trip. */
export function writeLeaseMs(options: Pick<MongoStoreOptions, "serverSelectionTimeoutMs">): number {
  return Math.max(5000, 3 * options.serverSelectionTimeoutMs);
}
