import type { Db, MongoClient } from "mongodb";
import { MongoServerError } from "mongodb";

/**
 * What the deployment can do, detected ONCE when the process connects. Every
 * workaround for a server that lacks one of these (FerretDB 1.x lacks all
 * four) is chosen from this object in concessions.ts, and nowhere else.
 */
export interface Capabilities {
  /** A conditional findOneAndUpdate applies atomically (FerretDB 1.x reads, then writes back by `_id`). */
  readonly atomicConditionalUpdates: boolean;
  /** The server deletes documents by a TTL index (`expireAfterSeconds`). */
  readonly ttlIndexes: boolean;
  /** Change streams: a replica set or a sharded cluster (FerretDB 1.x and a standalone server have none). */
  readonly changeStreams: boolean;
  /** Filters other than `_id` use secondary indexes (FerretDB 1.x reads the whole collection for them). */
  readonly indexedQueries: boolean;
}

/** MongoDB's code for a command the server does not implement. */
const notImplemented = 238;
const probeCollection = "switchboard.capabilities";

/** Asks the server: `hello` (topology), `buildInfo` (FerretDB says so) and one TTL index on a probe collection, dropped after. */
export async function detectCapabilities(client: MongoClient, db: Db): Promise<Capabilities> {
  const admin = client.db("admin");
  // One after the other: an unreachable server fails the first with the reason (a second would only say the client closed).
  const hello = await admin.command({ hello: 1 });
  const info = await admin.command({ buildInfo: 1 });
  const ferretDb = typeof info["ferretdbVersion"] === "string";
  return {
    atomicConditionalUpdates: !ferretDb,
    ttlIndexes: await acceptsTtlIndexes(db),
    changeStreams: typeof hello["setName"] === "string" || hello["msg"] === "isdbgrid",
    indexedQueries: !ferretDb,
  };
}

async function acceptsTtlIndexes(db: Db): Promise<boolean> {
  const probe = db.collection(probeCollection);
  try {
    await probe.createIndex({ expireAt: 1 }, { name: "expireAt_ttl", expireAfterSeconds: 0 });
    return true;
  } catch (error) {
    if (error instanceof MongoServerError && error.code === notImplemented) return false;
    throw error;
  } finally {
    await probe.drop().catch(() => {});
  }
}

/** All four: what a real MongoDB replica set has. */
export const fullCapabilities: Capabilities = { atomicConditionalUpdates: true, ttlIndexes: true, changeStreams: true, indexedQueries: true };
