import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Fence } from "../src/store/mongo/deployment/write-lock.js";
import { LeaseLock } from "../src/store/mongo/deployment/write-lock.js";
import type { MongoServer } from "./support/ferretdb.js";
import { disposeWithDatabase, mongoTarget, startMongoServer, testDatabaseName } from "./support/ferretdb.js";

const target = mongoTarget();
const leaseMs = 5000;

interface Counted {
  _id: string;
  value?: string;
  writes: number;
  fence?: number;
}

// The lease lock is what FerretDB gets; it is exercised against whatever server the tests use.
describe.skipIf(!target)("lease lock with fencing tokens", () => {
  let server: MongoServer;
  let client: MongoClient;
  const database = testDatabaseName();

  beforeAll(async () => {
    server = await startMongoServer(target!);
    client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 2000 });
  });
  afterAll(async () => {
    await client?.close();
    await disposeWithDatabase(server, database);
  });

  it("lets exactly one write land when a paused holder wakes after its lock was taken over and the new holder wrote", async () => {
    const db = client.db(database);
    const docs = db.collection<Counted>("fenced");
    const id = `doc-${Date.now()}`;
    await docs.insertOne({ _id: id, writes: 0 });
    // Holder A uses the real time; B's clock runs a lease ahead, so it finds A's lease already over.
    const a = LeaseLock.forCollection(db, "fenced", leaseMs);
    const b = LeaseLock.forCollection(db, "fenced", leaseMs, () => Date.now() + leaseMs + 1);
    const write = (value: string) => (fence: Fence) =>
      docs.findOneAndUpdate({ _id: id, ...fence.filter }, { $set: { value, ...fence.set }, $inc: { writes: 1 } }, { returnDocument: "after" });
    // The write applies only while nobody has written; neither write's filter says so, only the fence keeps A out.
    const stillApplies = async () => (await docs.countDocuments({ _id: id, writes: 0 })) > 0;

    let resumeA!: () => void;
    let aHoldsLock!: () => void;
    const paused = new Promise<void>((resolve) => (resumeA = resolve));
    const locked = new Promise<void>((resolve) => (aHoldsLock = resolve));
    const runA = a.run(id, async (fence) => {
      aHoldsLock();
      await paused; // A stalls (a GC pause, a stopped VM) past its lease, holding the lock
      return write("A")(fence);
    }, stillApplies);
    await locked;
    const byB = await b.run(id, write("B"), stillApplies);
    expect(byB).toMatchObject({ value: "B", writes: 1 });
    resumeA();
    expect(await runA).toBeNull();
    expect(await docs.findOne({ _id: id })).toMatchObject({ value: "B", writes: 1 });
  });

  it("runs the writes of one id one at a time when no lease runs out", async () => {
    const db = client.db(database);
    const docs = db.collection<Counted>("serial");
    const id = `doc-${Date.now()}`;
    await docs.insertOne({ _id: id, writes: 0 });
    const locks = [0, 1, 2, 3].map(() => LeaseLock.forCollection(db, "serial", leaseMs));
    let inside = 0;
    let most = 0;
    await Promise.all(
      locks.flatMap((lock) =>
        [0, 1, 2].map(() =>
          lock.run(id, async (fence) => {
            most = Math.max(most, ++inside);
            const doc = await docs.findOneAndUpdate({ _id: id, ...fence.filter }, { $set: fence.set, $inc: { writes: 1 } }, { returnDocument: "after" });
            inside--;
            return doc;
          }, async () => true),
        ),
      ),
    );
    expect(most).toBe(1);
    expect((await docs.findOne({ _id: id }))?.writes).toBe(12);
  });
});
