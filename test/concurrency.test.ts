import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Side } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { answer, candidate, offer } from "./support/fixtures.js";
import { protocols, signalingClient, startTestServer } from "./support/test-server.js";

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.shutdown(0));

describe("concurrent callers", () => {
  it("let exactly one of 50 simultaneous answers win; the rest get ALREADY_EXISTS", async () => {
    const offerer = signalingClient("grpc", server.url);
    const { channelId, offererToken: token } = await offerer.createChannel({});
    await offerer.setOffer({ channelId, token, offer });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => signalingClient(protocols[i % 3]!, server.url).setAnswer({ channelId, answer })),
    );
    const winners = results.filter((r) => r.status === "fulfilled");
    const losers = results.flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason).code] : []));
    expect(winners).toHaveLength(1);
    expect(losers).toEqual(Array(49).fill(Code.AlreadyExists));
    expect((await offerer.getChannel({ channelId })).channel?.version).toBe(3);
  });

  it("land every concurrent candidate exactly once, retries included", async () => {
    const client = signalingClient("grpc", server.url);
    const { channelId, offererToken: token } = await client.createChannel({});
    const add = (n: number) => client.addIceCandidate({ channelId, token, item: { case: "candidate", value: candidate(n) } });
    // 40 distinct candidates, each sent twice at once (a retry racing its original).
    const results = await Promise.all(Array.from({ length: 80 }, (_, i) => add(i % 40)));
    expect(results.filter((r) => r.added)).toHaveLength(40);
    const listed = await client.listIceCandidates({ channelId, side: Side.OFFERER });
    expect(new Set(listed.candidates.map((c) => c.candidate)).size).toBe(40);
    expect(listed.candidates).toHaveLength(40);
    expect(listed.version).toBe(41);
  });
});
