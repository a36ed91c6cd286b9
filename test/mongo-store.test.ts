import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ChannelDocument } from "../src/store/mongo/channels/document.js";
import type { MongoChannelStore } from "../src/store/mongo/channels/mongo-store.js";
import { openMongoStore } from "../src/store/mongo/channels/open-mongo-store.js";
import { pollOnce } from "../src/store/mongo/deployment/poll-feed.js";
import { channelFeedSink, WatchHub } from "../src/store/mongo/channels/watch-hub.js";
import { detectCapabilities } from "../src/store/mongo/deployment/capabilities.js";
import { ensureExpiryIndex } from "../src/store/mongo/deployment/expiry.js";
import { StoreError } from "../src/store/store.js";
import { ChangeRecorder } from "./support/change-recorder.js";
import { FakeClock } from "./support/fake-clock.js";
import type { MongoServer } from "./support/ferretdb.js";
import { mongoTarget, startMongoServer, testDatabaseName } from "./support/ferretdb.js";
import { RecordingLogger, testMongoOptions } from "./support/mongo-options.js";
import { describeChannelStoreContract } from "./store-contract.js";

const target = mongoTarget();
const limits = { maxChannels: 1000, maxCandidatesPerSide: 3, maxChannelBytes: 1 << 20, maxStoreBytes: 1 << 26 };

describe.skipIf(!target)("MongoDB store", () => {
  let server: MongoServer;
  let admin: MongoClient;
  const database = testDatabaseName();

  beforeAll(async () => {
    server = await startMongoServer(target!);
    admin = new MongoClient(server.uri, { serverSelectionTimeoutMS: 2000 });
  });
  afterAll(async () => {
    await admin?.db(database).dropDatabase().catch(() => {});
    await admin?.close();
    await server?.dispose();
  });

  // Each store of the contract gets a database of its own, so that maxChannels counts only its test's channels.
  const contractDatabases: string[] = [];
  afterAll(async () => {
    for (const name of contractDatabases) await admin?.db(name).dropDatabase().catch(() => {});
  });
  describeChannelStoreContract("mongodb", {
    open: (clock, storeLimits) => {
      const name = testDatabaseName();
      contractDatabases.push(name);
      return openMongoStore(testMongoOptions(server.uri, name, storeLimits), clock, new RecordingLogger());
    },
  });

  describe("shared by several processes", () => {
    it("holds max-channels exactly across processes: 30 concurrent creates through three stores make exactly 5 channels", async () => {
      const clock = new FakeClock(Date.now());
      const shared = testDatabaseName();
      const stores = await Promise.all([0, 1, 2].map(() => openMongoStore(testMongoOptions(server.uri, shared, { ...limits, maxChannels: 5 }), clock, new RecordingLogger())));
      try {
        const now = clock.now();
        const creates = Array.from({ length: 30 }, (_, i) =>
          stores[i % 3]!.createChannel({ id: `max-${now}-${i}`, offererTokenHash: "h", createTime: now, expireTime: now + 60_000 }),
        );
        const results = await Promise.allSettled(creates);
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
        for (const r of results) if (r.status === "rejected") expect(r.reason).toMatchObject({ reason: "channel-limit" });
        expect(await admin.db(shared).collection("channels").countDocuments()).toBe(5);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
        await admin.db(shared).dropDatabase();
      }
    });

    it("makes a process's concurrent creates together, a retried create among them answering with the channel it made", async () => {
      const clock = new FakeClock(Date.now());
      const store = await openMongoStore(testMongoOptions(server.uri, testDatabaseName(), { ...limits, maxChannels: 4 }), clock, new RecordingLogger());
      try {
        const now = clock.now();
        const init = (i: number) => ({ id: `batch-${now}-${i}`, offererTokenHash: `h${i}`, createTime: now, expireTime: now + 60_000 });
        // The same create twice (a client retrying) beside three others, and one past the limit.
        const results = await Promise.allSettled([init(0), init(0), init(1), init(2), init(3), init(4)].map((c) => store.createChannel(c)));
        const made = results.map((r) => (r.status === "fulfilled" ? r.value.id : (r.reason as StoreError).reason));
        expect(made).toEqual([`batch-${now}-0`, `batch-${now}-0`, `batch-${now}-1`, `batch-${now}-2`, `batch-${now}-3`, "channel-limit"]);
        expect((await store.stats()).liveChannels).toBe(4);
      } finally {
        await store.close();
      }
    });

    it("hands a watcher on one store the changes made through another", async () => {
      const clock = new FakeClock(Date.now());
      const [a, b] = await Promise.all([
        openMongoStore(testMongoOptions(server.uri, database, limits), clock, new RecordingLogger()),
        openMongoStore(testMongoOptions(server.uri, database, limits), clock, new RecordingLogger()),
      ]);
      try {
        const now = clock.now();
        const { id } = await a.createChannel({ id: `shared-${now}`, offererTokenHash: "h", createTime: now, expireTime: now + 60_000 });
        const watcher = new ChangeRecorder(b, id);
        await a.setOffer(id, "offer");
        expect(await watcher.next()).toMatchObject({ kind: "updated", state: { version: 2, offer: { value: "offer", version: 2 } } });
        await a.setAnswer(id, "answer", "h2");
        expect(await watcher.nextAfter(2)).toMatchObject({ kind: "updated", state: { version: 3, answer: { value: "answer" } } });
        await a.closeChannel(id, "offerer");
        expect(await watcher.nextAfter(3)).toEqual({ kind: "closed", closedBy: "offerer", version: 4 });
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });

  describe("polling", () => {
    it("fetches the changes of all watched channels in one query, whatever their number", async () => {
      const clock = new FakeClock(Date.now());
      const store = await openMongoStore(testMongoOptions(server.uri, database, limits), clock, new RecordingLogger());
      const observer = new MongoClient(server.uri, { monitorCommands: true, serverSelectionTimeoutMS: 2000 });
      try {
        const ids: string[] = [];
        for (let n = 0; n < 20; n++) {
          const now = clock.now();
          const { id } = await store.createChannel({ id: `poll-${now}-${n}`, offererTokenHash: "h", createTime: now, expireTime: now + 60_000 });
          await store.setOffer(id, "offer");
          ids.push(id);
        }
        // Three watchers on each of 20 channels.
        const hub = new WatchHub();
        const seen: string[] = [];
        for (const id of ids) {
          hub.add(id, () => {});
          hub.add(id, () => {});
          hub.add(id, (change) => change.kind === "updated" && seen.push(change.state.id));
        }
        const finds: unknown[] = [];
        observer.on("commandStarted", (event) => {
          if (event.commandName === "find") finds.push(event.command);
        });
        await pollOnce(observer.db(database).collection<ChannelDocument>("channels"), channelFeedSink(hub, clock), new RecordingLogger());
        expect(finds).toHaveLength(1);
        expect(seen.sort()).toEqual([...ids].sort());
      } finally {
        await observer.close();
        await store.close();
      }
    });
    it("hands over exactly the channels that moved past the version their watchers have, with watchers at different versions", async () => {
      const clock = new FakeClock(Date.now());
      const store = await openMongoStore(testMongoOptions(server.uri, database, limits), clock, new RecordingLogger());
      try {
        const now = clock.now();
        const ids: string[] = [];
        for (let n = 0; n < 6; n++) {
          ids.push((await store.createChannel({ id: `behind-${now}-${n}`, offererTokenHash: "h", createTime: now, expireTime: now + 60_000 })).id);
        }
        // Channels 0-2 at version 2, channels 3-5 at version 3.
        for (const [n, id] of ids.entries()) {
          await store.setOffer(id, "offer");
          if (n >= 3) await store.addCandidates(id, "offerer", [{ candidate: "candidate:1" }], false);
        }
        const hub = new WatchHub();
        const seen: string[] = [];
        for (const id of ids) hub.add(id, (change) => change.kind === "updated" && seen.push(`${id}@${change.state.version}`));
        const sink = channelFeedSink(hub, clock);
        const collection = admin.db(database).collection<ChannelDocument>("channels");
        await pollOnce(collection, sink, new RecordingLogger());
        expect(seen.sort()).toEqual(ids.map((id, n) => `${id}@${n >= 3 ? 3 : 2}`).sort());
        // Channel 0 moves to 3 and channel 3 to 4; the rest stay where their watchers are.
        await store.addCandidates(ids[0]!, "offerer", [{ candidate: "candidate:1" }], false);
        await store.addCandidates(ids[3]!, "offerer", [{ candidate: "candidate:2" }], false);
        seen.length = 0;
        await pollOnce(collection, sink, new RecordingLogger());
        expect(seen.sort()).toEqual([`${ids[0]}@3`, `${ids[3]}@4`].sort());
        seen.length = 0;
        await pollOnce(collection, sink, new RecordingLogger());
        expect(seen).toEqual([]);
      } finally {
        await store.close();
      }
    });
  });

  describe("expiry", () => {
    let store: MongoChannelStore;
    let logger: RecordingLogger;
    const clock = new FakeClock(Date.now());

    beforeAll(async () => {
      logger = new RecordingLogger();
      store = await openMongoStore(testMongoOptions(server.uri, database, limits), clock, logger);
    });
    afterAll(() => store.close());

    it("uses a TTL index where the server has them, and otherwise warns once and sweeps", async () => {
      const indexes = await admin.db(database).collection("channels").indexes();
      const warnings = logger.lines.filter((l) => l.level === "warn");
      if (store.expiryMode === "ttl-index") {
        expect(indexes).toContainEqual(expect.objectContaining({ key: { expireAt: 1 }, expireAfterSeconds: 0 }));
        expect(warnings).toEqual([]);
      } else {
        expect(indexes).toContainEqual(expect.objectContaining({ key: { expireAt: 1 } }));
        expect(warnings.map((w) => w.msg)).toEqual([
          "this MongoDB server refuses TTL indexes; a background sweeper deletes expired channels instead",
        ]);
      }
    });

    it("asks the server for a TTL index MongoDB honours: one ascending key on the Date field expireAt, expireAfterSeconds 0", async () => {
      const observer = new MongoClient(server.uri, { monitorCommands: true, serverSelectionTimeoutMS: 2000 });
      // The index specs as the driver puts them on the wire (it sends each key as an ordered Map).
      const sent: { createIndexes: string; indexes: Record<string, unknown>[] }[] = [];
      observer.on("commandStarted", ({ commandName, command }) => {
        if (commandName !== "createIndexes") return;
        const indexes = (command["indexes"] as { key: Map<string, unknown> }[]).map((spec) => ({ ...spec, key: Object.fromEntries(spec.key) }));
        sent.push({ createIndexes: command["createIndexes"] as string, indexes });
      });
      try {
        const ttlSpec = { key: { expireAt: 1 }, name: "expireAt_ttl", expireAfterSeconds: 0 };
        // The probe at start asks for exactly the index the store then creates.
        const capabilities = await detectCapabilities(observer, observer.db(database));
        expect(sent).toEqual([{ createIndexes: "switchboard.capabilities", indexes: [ttlSpec] }]);
        const collection = observer.db(database).collection<ChannelDocument>(`ttl-${Date.now()}`);
        await ensureExpiryIndex(collection, capabilities.ttlIndexes ? "ttl-index" : "sweeper");
        // Refused (FerretDB 1.x): the sweeper's plain index instead.
        const expected = capabilities.ttlIndexes ? ttlSpec : { key: { expireAt: 1 }, name: "expireAt" };
        expect(sent.slice(1)).toEqual([{ createIndexes: collection.collectionName, indexes: [expected] }]);
        // The TTL monitor only deletes documents whose field is a BSON date.
        const now = clock.now();
        const { id } = await store.createChannel({ id: `ttl-${now}`, offererTokenHash: "h", createTime: now, expireTime: now + 60_000 });
        const raw = await admin.db(database).collection("channels").findOne({ _id: id as never });
        expect(raw?.["expireAt"]).toBeInstanceOf(Date);
      } finally {
        await observer.close();
      }
    });

    // Against MongoDB its own TTL monitor deletes the document, up to a minute late.
    it.runIf(target?.kind === "ferretdb")("lets the sweeper delete an expired channel's document (FerretDB: no TTL index)", async () => {
      expect(store.expiryMode).toBe("sweeper");
      const now = clock.now();
      const { id } = await store.createChannel({ id: `sweep-${now}`, offererTokenHash: "h", createTime: now, expireTime: now + 1000 });
      const channels = admin.db(database).collection<ChannelDocument>("channels");
      expect(await channels.countDocuments({ _id: id })).toBe(1);
      clock.advance(1000);
      while ((await channels.countDocuments({ _id: id })) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    });

    it("reports its modes for the health output", async () => {
      expect(await store.health()).toEqual({
        ready: true,
        details: { store: "mongodb", watchMode: store.watchMode, expiry: store.expiryMode, writes: target!.kind === "ferretdb" ? "lease-lock" : "atomic-update" },
      });
      if (target!.kind === "ferretdb") expect(store.watchMode).toBe("poll");
    });
  });

  it.runIf(target?.kind === "ferretdb")("takes over the lock of a writer that died holding it (FerretDB)", async () => {
    const clock = new FakeClock(Date.now());
    const store = await openMongoStore(testMongoOptions(server.uri, database, limits), clock, new RecordingLogger());
    try {
      const now = clock.now();
      const { id } = await store.createChannel({ id: `locked-${now}`, offererTokenHash: "h", createTime: now, expireTime: now + 60_000 });
      const locks = admin.db(database).collection<{ _id: string; owner: string; expireAt: Date }>("channels.locks");
      await locks.insertOne({ _id: id, owner: "a process that crashed", expireAt: new Date(Date.now() - 1) });
      expect((await store.setOffer(id, "offer")).version).toBe(2);
      // The write returns before its lock is deleted (one round trip less); the delete follows.
      await vi.waitFor(async () => expect(await locks.countDocuments({ _id: id })).toBe(0));
    } finally {
      await store.close();
    }
  });

  it.runIf(target?.kind === "ferretdb")("refuses to start when change streams are demanded of FerretDB, which has none", async () => {
    const options = testMongoOptions(server.uri, database, limits, { watchMode: "change-stream" });
    await expect(openMongoStore(options, new FakeClock(Date.now()), new RecordingLogger())).rejects.toThrow(/changeStream/);
  });

  it("fails with `unavailable` within its server selection timeout when no server answers", async () => {
    const options = testMongoOptions("mongodb://127.0.0.1:1/", database, limits, { serverSelectionTimeoutMs: 200 });
    const error = await openMongoStore(options, new FakeClock(), new RecordingLogger()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).reason).toBe("unavailable");
  });
});
