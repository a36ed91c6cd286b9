import type { Db, MongoClient } from "mongodb";
import type { StoreHealth } from "../../store.js";
import type { Capabilities } from "./capabilities.js";
import { detectCapabilities } from "./capabilities.js";
import { createClient, writeLeaseMs } from "./client.js";
import type { Concessions } from "./concessions.js";
import { concessionsFor } from "./concessions.js";
import type { MongoStoreOptions, StoreLogger } from "./options.js";
import { guarded } from "./unavailable.js";
import { LeaseLock } from "./write-lock.js";

/** The connection settings the channel and room stores share. */
export type DeploymentOptions = Pick<
  MongoStoreOptions,
  "uri" | "database" | "writeConcern" | "serverSelectionTimeoutMs" | "socketTimeoutMs" | "sweepIntervalMs"
>;

/**
 * The MongoDB deployment this process uses: ONE client (connection pool,
 * timeouts, write concern) shared by the channel and the room store, its
 * capabilities detected once, the concessions chosen from them, and the
 * health check. Each store holds it while open; the client closes when the
 * last store lets go.
 */
export class MongoDeployment {
  private holders = 0;

  private constructor(
    readonly client: MongoClient,
    readonly db: Db,
    readonly capabilities: Capabilities,
    readonly concessions: Concessions,
    private readonly leaseMs: number,
  ) {}

  /** Connects and detects the capabilities; fails with StoreError("unavailable") when MongoDB cannot be reached in time. */
  static async open(options: DeploymentOptions, logger: StoreLogger): Promise<MongoDeployment> {
    const client = createClient(options);
    try {
      const db = client.db(options.database);
      const capabilities = await guarded("*", () => detectCapabilities(client, db));
      const leaseMs = writeLeaseMs(options);
      const concessions = concessionsFor(capabilities, db, leaseMs, options.sweepIntervalMs, logger);
      logger.info("mongodb deployment", { database: options.database, ...capabilities });
      return new MongoDeployment(client, db, capabilities, concessions, leaseMs);
    } catch (error) {
      await client.close().catch(() => {});
      throw error;
    }
  }

  /** A lease lock over the keys of `<collection>.locks`, on any deployment: for work no single atomic update can do. */
  lock(collection: string): LeaseLock {
    return LeaseLock.forCollection(this.db, collection, this.leaseMs);
  }

  /** Takes a share of the client; the returned function gives it back, closing the client after the last. */
  hold(): () => Promise<void> {
    this.holders++;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      if (--this.holders === 0) await this.client.close();
    };
  }

  /** Ready when a ping answers; `details` describe the store asking. Never shows a driver message. */
  async health(details: Record<string, string>): Promise<StoreHealth> {
    try {
      await guarded("*", () => this.db.command({ ping: 1 }));
      return { ready: true, details };
    } catch {
      return { ready: false, details: { ...details, error: "unreachable" } };
    }
  }
}
