import { revealed } from "../../lib/secret.js";
import { MongoClient } from "mongodb";
import type { MongoStoreOptions, WatchMode } from "./options.js";
import { guarded } from "./unavailable.js";

/** A client with the store's timeouts and write concern; it connects on first use. */
export function createClient(options: Pick<MongoStoreOptions, "uri" | "serverSelectionTimeoutMs" | "writeConcern">): MongoClient {
  return new MongoClient(revealed(options.uri), {
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs,
    writeConcern: { w: options.writeConcern },
    ignoreUndefined: true,
  });
}

/** Change streams need a replica set or a sharded cluster; `hello` tells which this is. */
export async function detectWatchMode(client: MongoClient): Promise<WatchMode> {
  const hello = await guarded("*", () => client.db("admin").command({ hello: 1 }));
  return typeof hello["setName"] === "string" || hello["msg"] === "isdbgrid" ? "change-stream" : "poll";
}

/** FerretDB says so in buildInfo; its updates need the lease lock. */
export async function isFerretDb(client: MongoClient): Promise<boolean> {
  const info = await guarded("*", () => client.db("admin").command({ buildInfo: 1 }));
  return typeof info["ferretdbVersion"] === "string";
}

/** A write holding the lock fails after at most a server selection timeout plus its own round trip. */
export function writeLeaseMs(options: Pick<MongoStoreOptions, "serverSelectionTimeoutMs">): number {
  return Math.max(5000, 3 * options.serverSelectionTimeoutMs);
}
