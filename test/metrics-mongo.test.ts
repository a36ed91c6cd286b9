import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { defaultConfig } from "../src/server/config.js";
import { codeOf } from "./support/fixtures.js";
import type { MongoServer } from "./support/ferretdb.js";
import { disposeWithDatabase, mongoTarget, startMongoServer, testDatabaseName } from "./support/ferretdb.js";
import { moved, Scrape } from "./support/scrape.js";
import { roomClient, signalingClient, startTestServer } from "./support/test-server.js";

const target = mongoTarget();

describe.skipIf(!target)("metrics with the MongoDB store", () => {
  let mongo: MongoServer;
  let server: RunningServer;
  const database = testDatabaseName();

  beforeAll(async () => {
    mongo = await startMongoServer(target!);
    const mongodb = { ...defaultConfig().mongodb, uri: mongo.uri, database, serverSelectionTimeoutMs: 1000 };
    server = await startTestServer({ store: "mongodb", mongodb });
  });
  afterAll(async () => {
    await server?.shutdown(0);
    await disposeWithDatabase(mongo, database);
  });

  it("reads the live gauges from the database", async () => {
    await signalingClient("grpc", server.url).createChannel({});
    await roomClient("grpc", server.url).joinRoom({ room: "lobby", displayName: "alice" });
    const scrape = await Scrape.of(`${server.url}/metrics`);
    expect(scrape.value("switchboard_live_channels")).toBe(1);
    expect(scrape.value("switchboard_live_rooms")).toBe(1);
    expect(scrape.value("switchboard_room_members")).toBe(1);
  });

  // An external MONGODB_URI server cannot be stopped from here.
  it.runIf(target?.kind === "ferretdb")("keeps answering scrapes while the database is down: gauges NaN, store faults counted", async () => {
    const before = await Scrape.of(`${server.url}/metrics`);
    await mongo.ferret!.stop();
    try {
      expect(await codeOf(signalingClient("connect", server.url).getChannel({ channelId: crypto.randomUUID() }))).toBe(Code.Unavailable);
      const down = await Scrape.of(`${server.url}/metrics`);
      expect(down.value("switchboard_live_channels")).toBeNaN();
      expect(down.value("switchboard_room_members")).toBeNaN();
      expect(moved(before, down, "switchboard_store_operation_errors_total")).toEqual({ "store=channels,operation=getChannel": 1 });
      expect(moved(before, down, "switchboard_rpc_requests_total", { code: "unavailable" })).toEqual({
        "service=signaling.v1.SignalingService,method=GetChannel,protocol=connect,code=unavailable": 1,
      });
    } finally {
      await mongo.ferret!.start();
    }
    await expect.poll(async () => (await Scrape.of(`${server.url}/metrics`)).value("switchboard_live_channels"), { timeout: 10_000 }).toBe(1);
  });
});
