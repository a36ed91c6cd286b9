import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SdpType } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { defaultConfig } from "../src/server/config.js";
import type { MongoServer } from "./support/ferretdb.js";
import { disposeWithDatabase, mongoTarget, startMongoServer, testDatabaseName } from "./support/ferretdb.js";
import { TcpProxy } from "./support/tcp-proxy.js";
import { roomClient, signalingClient, startTestServer } from "./support/test-server.js";

const target = mongoTarget();

/** The first host of `uri`, and how to make a URI reaching that host directly through a loopback proxy instead. */
function firstHost(uri: string): { host: string; port: number; through: (proxyPort: number) => string } {
  const match = /^(mongodb:\/\/(?:[^@/]*@)?)([^/?]+)(.*)$/.exec(uri);
  if (!match) throw new Error("this suite proxies mongodb:// URIs only (not mongodb+srv://)");
  const [host = "127.0.0.1", port = "27017"] = match[2]!.split(",")[0]!.split(":");
  const rest = match[3] || "/";
  const path = rest.startsWith("/") ? rest : `/${rest}`;
  const through = (proxyPort: number) => `${match[1]}127.0.0.1:${proxyPort}${path}${path.includes("?") ? "&" : "?"}directConnection=true`;
  return { host, port: Number(port), through };
}

describe.skipIf(!target)("a MongoDB that stops answering without closing its connections (MongoDB store)", () => {
  let mongo: MongoServer;
  let proxy: TcpProxy;
  let server: RunningServer;
  const database = testDatabaseName();
  const socketTimeoutMs = 1000;
  const offer = { type: SdpType.OFFER, sdp: "v=0 silent" };

  beforeAll(async () => {
    mongo = await startMongoServer(target!);
    const upstream = firstHost(mongo.uri);
    proxy = new TcpProxy(upstream.port, upstream.host);
    const uri = upstream.through(Number(new URL(await proxy.listen()).port));
    const base = defaultConfig();
    server = await startTestServer({
      store: "mongodb",
      mongodb: { ...base.mongodb, uri, database, pollIntervalMs: 50, serverSelectionTimeoutMs: 1000, socketTimeoutMs },
    });
  }, 60_000);

  afterAll(async () => {
    await server?.shutdown(0);
    await proxy?.close();
    await disposeWithDatabase(mongo, database);
  });

  it("fails calls with UNAVAILABLE after mongodb-socket-timeout-ms instead of waiting for ever, and serves again once it answers", async () => {
    const channels = signalingClient("grpc", server.url);
    const rooms = roomClient("grpc", server.url);
    const { channelId } = await channels.createChannel({ offer });
    const joined = await rooms.joinRoom({ room: "silent", displayName: "ann" });
    const session = { sessionId: joined.sessionId, sessionToken: joined.sessionToken };

    proxy.silence();
    // The client's own deadline is far above the socket timeout: a call that waited for the lost reply would end DEADLINE_EXCEEDED.
    const deadline = { timeoutMs: 20_000 };
    const codeOf = (call: Promise<unknown>) => call.then(() => "answered", (error: unknown) => Code[ConnectError.from(error).code]);
    const during = await Promise.all([
      codeOf(channels.createChannel({ offer }, deadline)),
      codeOf(channels.getOffer({ channelId }, deadline)),
      codeOf(rooms.renewSession({ room: "silent", session }, deadline)),
    ]);
    expect(during).toEqual(["Unavailable", "Unavailable", "Unavailable"]);

    proxy.speak();
    // Once the server answers again, so does Switchboard: the room's writes were not left queued behind the lost one.
    await expect
      .poll(() => codeOf(rooms.renewSession({ room: "silent", session }, deadline)), { timeout: 30_000, interval: 250 })
      .toBe("answered");
    expect((await channels.getOffer({ channelId }, deadline)).offer?.sdp).toBe(offer.sdp);
    expect(await codeOf(channels.createChannel({ offer }, deadline))).toBe("answered");
  }, 90_000);
});
