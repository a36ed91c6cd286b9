import { Code, createClient } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as HealthStatus } from "../gen/health/v1/health_pb.js";
import { RoomService } from "../gen/signaling/v1/room_pb.js";
import { SdpType, SignalingService, Side } from "../gen/signaling/v1/signaling_pb.js";
import type { WatchChannelResponse } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { defaultConfig } from "../src/server/config.js";
import type { MongoChannelStore } from "../src/store/mongo/channels/mongo-store.js";
import { FakeClock } from "./support/fake-clock.js";
import { codeOf } from "./support/fixtures.js";
import type { MongoServer } from "./support/ferretdb.js";
import { disposeWithDatabase, mongoTarget, startMongoServer, testDatabaseName } from "./support/ferretdb.js";
import { signalingClient, startTestServer, transportFor } from "./support/test-server.js";

const target = mongoTarget();

type Signaling = Client<typeof SignalingService>;

async function health(server: RunningServer): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const offer = (sdp: string) => ({ type: SdpType.OFFER, sdp });
const answer = (sdp: string) => ({ type: SdpType.ANSWER, sdp });

describe.skipIf(!target)("two Switchboard processes sharing one MongoDB database", () => {
  let mongo: MongoServer;
  let a: RunningServer;
  let b: RunningServer;
  let clientA: Signaling;
  let clientB: Signaling;
  // One clock for both, starting at the real time: expiry is decided by it, the database's own deletion by real time.
  const clock = new FakeClock(Date.now());
  const database = testDatabaseName();

  beforeAll(async () => {
    mongo = await startMongoServer(target!);
    const base = defaultConfig();
    const mongodb = { ...base.mongodb, uri: mongo.uri, database, pollIntervalMs: 50, serverSelectionTimeoutMs: 1000, sweepIntervalMs: 50 };
    a = await startTestServer({ store: "mongodb", mongodb, storeHealthIntervalMs: 100 }, { clock });
    b = await startTestServer({ store: "mongodb", mongodb, storeHealthIntervalMs: 100 }, { clock });
    clientA = signalingClient("connect", a.url);
    clientB = signalingClient("grpc", b.url);
  });

  afterAll(async () => {
    await Promise.all([a?.shutdown(0), b?.shutdown(0)]);
    await disposeWithDatabase(mongo, database);
  });

  async function offeredChannel(): Promise<{ channelId: string; offererToken: string }> {
    const created = await clientA.createChannel({});
    await clientA.setOffer({ channelId: created.channelId, token: created.offererToken, offer: offer("v=0 offer") });
    return created;
  }

  it("serves an offer made through one to a watcher and an answerer on the other", async () => {
    const { channelId, offererToken } = await offeredChannel();
    // The offerer's token: the stream shows the answer made through the other process too.
    const stream = clientB.watchChannel({ channelId, token: offererToken })[Symbol.asyncIterator]();
    const first = (await stream.next()).value as WatchChannelResponse;
    expect(first.event.case).toBe("snapshot");
    expect(first.event.case === "snapshot" && first.event.value.offer?.sdp).toBe("v=0 offer");

    const answered = await clientB.setAnswer({ channelId, answer: answer("v=0 answer") });
    expect((await clientA.getAnswer({ channelId, token: offererToken })).answer?.sdp).toBe("v=0 answer");
    await clientA.addIceCandidate({ channelId, token: offererToken, item: { case: "candidate", value: { candidate: "candidate:1 1 udp 1 192.0.2.1 5000 typ host", sdpMid: "0" } } });
    await clientA.closeChannel({ channelId, token: offererToken });

    const events: WatchChannelResponse[] = [];
    for (let next = await stream.next(); !next.done; next = await stream.next()) events.push(next.value);
    expect(events.map((e) => [e.event.case, e.version])).toEqual([
      ["answer", answered.version],
      ["iceCandidateAdded", answered.version + 1],
      ["channelClosed", answered.version + 2],
    ]);
    expect(events[2]?.event.case === "channelClosed" && events[2].event.value.closedBy).toBe(Side.OFFERER);
    expect(await codeOf(clientB.getChannel({ channelId }))).toBe(Code.NotFound);
  });

  it("keeps exactly one of 50 concurrent answers spread over both processes", async () => {
    const { channelId } = await offeredChannel();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => codeOf((i % 2 ? clientA : clientB).setAnswer({ channelId, answer: answer(`v=0 answer ${i}`) }))),
    );
    expect(results.filter((r) => r === "ok")).toHaveLength(1);
    expect(results.filter((r) => r === Code.AlreadyExists)).toHaveLength(49);
    const [fromA, fromB] = await Promise.all([clientA.getChannel({ channelId }), clientB.getChannel({ channelId })]);
    expect(fromA.channel?.answer?.sdp).toBe(fromB.channel?.answer?.sdp);
    expect(fromA.channel?.version).toBe(3);
  });

  it("makes a channel gone at its expire time through every RPC on both, and removes its document", async () => {
    const created = await clientA.createChannel({ ttl: { seconds: 10n } });
    const { channelId, offererToken } = created;
    await clientA.setOffer({ channelId, token: offererToken, offer: offer("v=0 offer") });
    const stream = clientB.watchChannel({ channelId, afterVersion: 1 })[Symbol.asyncIterator]();
    expect(((await stream.next()).value as WatchChannelResponse).event.case).toBe("offer");
    clock.advance(10_000);
    const ended = (await stream.next()).value as WatchChannelResponse;
    expect(ended.event.case).toBe("channelExpired");

    for (const client of [clientA, clientB]) {
      expect(await codeOf(client.getChannel({ channelId }))).toBe(Code.NotFound);
      expect(await codeOf(client.getOffer({ channelId }))).toBe(Code.NotFound);
      expect(await codeOf(client.setOffer({ channelId, token: offererToken, offer: offer("x") }))).toBe(Code.NotFound);
      expect(await codeOf(client.setAnswer({ channelId, answer: answer("x") }))).toBe(Code.NotFound);
      expect(await codeOf(client.listIceCandidates({ channelId, side: Side.OFFERER }))).toBe(Code.NotFound);
      expect(await codeOf(client.addIceCandidate({ channelId, token: offererToken, item: { case: "endOfCandidates", value: true } }))).toBe(Code.NotFound);
      expect(await codeOf(client.closeChannel({ channelId, token: offererToken }))).toBe(Code.NotFound);
      expect(await codeOf(client.watchChannel({ channelId })[Symbol.asyncIterator]().next())).toBe(Code.NotFound);
    }

    if ((a.store as MongoChannelStore).expiryMode === "sweeper") {
      const admin = new MongoClient(mongo.uri, { serverSelectionTimeoutMS: 1000 });
      try {
        const channels = admin.db(database).collection<{ _id: string }>("channels");
        while ((await channels.countDocuments({ _id: channelId })) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        await admin.close();
      }
    }
  });

  // An external MONGODB_URI server cannot be stopped from here.
  it.runIf(target?.kind === "ferretdb")("fails fast with UNAVAILABLE while the database is down and recovers without losing acknowledged writes", async () => {
    const ferret = mongo.ferret!;
    const { channelId, offererToken } = await offeredChannel();
    const answered = await clientB.setAnswer({ channelId, answer: answer("v=0 acknowledged") });
    const stream = clientA.watchChannel({ channelId })[Symbol.asyncIterator]();
    expect(((await stream.next()).value as WatchChannelResponse).event.case).toBe("snapshot");
    expect((await health(a)).status).toBe(200);

    await ferret.stop();
    expect(await codeOf(stream.next())).toBe(Code.Unavailable);
    expect(await codeOf(clientA.getChannel({ channelId }))).toBe(Code.Unavailable);
    expect(await codeOf(clientB.createChannel({}))).toBe(Code.Unavailable);
    for (const server of [a, b]) {
      const down = await health(server);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: "store-unavailable", store: { store: "mongodb", watchMode: "poll" } });
    }

    // gRPC health follows both stores through the probe (store-health-interval-ms).
    const grpcHealth = createClient(Health, transportFor("grpc", a.url));
    const statusOf = async (service: string) => (await grpcHealth.check({ service })).status;
    while ((await statusOf(RoomService.typeName)) !== HealthStatus.NOT_SERVING) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await statusOf(SignalingService.typeName)).toBe(HealthStatus.NOT_SERVING);

    await ferret.start();
    while ((await health(a)).status !== 200 || (await health(b)).status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    while ((await statusOf(RoomService.typeName)) !== HealthStatus.SERVING) await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await clientA.getChannel({ channelId, token: offererToken });
    expect(after.channel?.answer?.sdp).toBe("v=0 acknowledged");
    expect(after.channel?.version).toBe(answered.version);
    await clientB.addIceCandidate({ channelId, token: offererToken, item: { case: "endOfCandidates", value: true } });
    const resumed = clientA.watchChannel({ channelId, afterVersion: answered.version })[Symbol.asyncIterator]();
    expect(((await resumed.next()).value as WatchChannelResponse).event.case).toBe("iceCandidatesComplete");
    await resumed.return?.();
  });
});
