import type { Document } from "mongodb";
import type { StoreHealth } from "../../store.js";
import type { ChangeStreamFeed } from "./change-stream-feed.js";
import type { MongoDeployment } from "./deployment.js";
import type { WatchMode } from "./options.js";
import type { WriteGuard } from "./write-lock.js";

/** What a running MongoDB store (channels or rooms) holds of the deployment, and how it lets go. */
export interface StoreRuntime<TDoc extends Document & { _id: string }> {
  readonly deployment: MongoDeployment;
  /** How watchers learn of changes made elsewhere. */
  readonly watchMode: WatchMode;
  /** Only closed through the runtime; typed by its documents where the store is built. */
  readonly changeStream?: Pick<ChangeStreamFeed<TDoc>, "close">;
  readonly writeGuard: WriteGuard;
  /** Stops the store's timers: the poller, the sweepers, the member reaper. */
  readonly stopTimers: () => void;
  /** Gives back this store's share of the deployment's client. */
  readonly release: () => Promise<void>;
}

/** The health of a store on the deployment, with its modes as details. */
export function runtimeHealth(runtime: StoreRuntime<Document & { _id: string }>): Promise<StoreHealth> {
  const { deployment, watchMode, writeGuard } = runtime;
  return deployment.health({ store: "mongodb", watchMode, expiry: deployment.concessions.expiry, writes: writeGuard.kind });
}

/** Stops the store's timers and change stream, waits for lock releases under way, then lets go of the client. */
export async function closeRuntime(runtime: StoreRuntime<Document & { _id: string }>): Promise<void> {
  runtime.stopTimers();
  await runtime.changeStream?.close();
  await runtime.writeGuard.settle?.();
  await runtime.release();
}
