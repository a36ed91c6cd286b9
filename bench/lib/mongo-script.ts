import * as path from "node:path";
import type { MongoBackend } from "../mongo-backend.js";
import { startMongoBackend } from "../mongo-backend.js";

/**
 * Runs a stand-alone MongoDB measurement (npm run bench:poll, bench:cross)
 * against MONGODB_URI or a FerretDB started for it, stops that FerretDB
 * after, and exits with 1 on failure.
 */
export function runWithMongoBackend(body: (backend: MongoBackend) => Promise<void>): void {
  const repo = path.resolve(import.meta.dirname, "../../..");
  const run = async () => {
    const backend = await startMongoBackend(repo);
    if ("missing" in backend) throw new Error(backend.missing);
    try {
      await body(backend);
    } finally {
      await backend.stop();
    }
  };
  run().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
