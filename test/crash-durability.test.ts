import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SdpType } from "../gen/signaling/v1/signaling_pb.js";
import { MessageKind } from "../gen/signaling/v1/room_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { defaultConfig } from "../src/server/config.js";
import type { MongoServer } from "./support/ferretdb.js";
import { disposeWithDatabase, mongoTarget, startMongoServer, testDatabaseName } from "./support/ferretdb.js";
import { roomClient, signalingClient, startTestServer } from "./support/test-server.js";
import type { ServerProcess } from "./support/server-process.js";
import { startServerProcess } from "./support/server-process.js";

const target = mongoTarget();

const offer = (n: number) => ({ type: SdpType.OFFER, sdp: `v=0 offer ${n}` });

describe.skipIf(!target)("acknowledged writes survive crashes (MongoDB store)", () => {
  let mongo: MongoServer;
  let crashing: ServerProcess;
  let survivor: RunningServer;
  const database = testDatabaseName();
  /** Channel id → the offer's SDP, for every CreateChannel the crashing instance acknowledged. */
  const acknowledgedChannels = new Map<string, string>();
  /** Room message bodies the crashing instance acknowledged. */
  const acknowledgedMessages = new Set<string>();
  const room = `crash-${database}`;
  /** A member joined through the survivor before the burst: every message is addressed to it too. */
  let reader: { session: { sessionId: string; sessionToken: string }; joinedAt: bigint };

  beforeAll(async () => {
    mongo = await startMongoServer(target!);
    // A process of its own, so that it can be killed as a crash would (SIGKILL, no shutdown).
    crashing = await startServerProcess({ SWITCHBOARD_STORE: "mongodb", SWITCHBOARD_MONGODB_URI: mongo.uri, SWITCHBOARD_MONGODB_DATABASE: database });
    const base = defaultConfig();
    survivor = await startTestServer({
      store: "mongodb",
      mongodb: { ...base.mongodb, uri: mongo.uri, database, pollIntervalMs: 50, serverSelectionTimeoutMs: 2000 },
    });
    const joined = await roomClient("grpc", survivor.url).joinRoom({ room, displayName: "reader", seats: 4 });
    reader = { session: { sessionId: joined.sessionId, sessionToken: joined.sessionToken }, joinedAt: joined.sequence };
  }, 60_000);

  afterAll(async () => {
    await crashing?.kill();
    await survivor?.shutdown(0);
    await disposeWithDatabase(mongo, database);
  });

  /** What the survivor reads back of everything the crashing instance acknowledged. */
  async function readBack(): Promise<{ channelsMissing: string[]; messagesMissing: string[] }> {
    const channels = signalingClient("grpc", survivor.url);
    const channelsMissing: string[] = [];
    for (const [channelId, sdp] of acknowledgedChannels) {
      const found = await channels.getOffer({ channelId }).then((r) => r.offer?.sdp, () => undefined);
      if (found !== sdp) channelsMissing.push(channelId);
    }
    const rooms = roomClient("grpc", survivor.url);
    const { session } = reader;
    await rooms.renewSession({ room, session });
    const { sequence: latest } = await rooms.getRoom({ room, session });
    const seen = new Set<string>();
    if (latest > reader.joinedAt) {
      // The events after the reader's join, replayed up to the room's last one.
      for await (const { sequence, event } of rooms.watchRoom({ room, session, afterSequence: reader.joinedAt })) {
        if (event.case === "message") seen.add(event.value.body);
        if (sequence >= latest) break;
      }
    }
    return { channelsMissing, messagesMissing: [...acknowledgedMessages].filter((body) => !seen.has(body)) };
  }

  it("keeps every write acknowledged by an instance killed in the middle of a burst", async () => {
    const channels = signalingClient("grpc", crashing.url);
    const rooms = roomClient("grpc", crashing.url);
    const joined = await rooms.joinRoom({ room, displayName: "sender" });
    const session = { sessionId: joined.sessionId, sessionToken: joined.sessionToken };
    const burst = Array.from({ length: 40 }, async (_, n) => {
      if (n % 2 === 0) {
        const created = await channels.createChannel({ offer: offer(n) });
        acknowledgedChannels.set(created.channelId, offer(n).sdp);
      } else {
        const body = `message ${n}`;
        await rooms.sendMessage({ room, session, kind: MessageKind.DATA, body });
        acknowledgedMessages.add(body);
      }
    });
    const settled = Promise.allSettled(burst);
    // Let part of the burst of each kind be acknowledged, then crash with the rest in flight.
    for (let waited = 0; waited < 2_000 && (acknowledgedChannels.size < 3 || acknowledgedMessages.size < 3); waited++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await crashing.kill();
    await settled;
    expect(acknowledgedChannels.size).toBeGreaterThan(0);
    expect(acknowledgedMessages.size).toBeGreaterThan(0);
    expect(await readBack()).toEqual({ channelsMissing: [], messagesMissing: [] });
  }, 60_000);

  // A server named by MONGODB_URI is not this suite's to kill.
  it.skipIf(target?.kind === "uri")("keeps every acknowledged write when the database itself is killed and restarted", async () => {
    await mongo.ferret!.stop(); // SIGKILL
    await mongo.ferret!.start();
    const afterRestart = await readBack();
    expect(afterRestart).toEqual({ channelsMissing: [], messagesMissing: [] });
  }, 60_000);
});
