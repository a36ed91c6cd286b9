import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Side } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { answer, candidate, expectCode, offer } from "./support/fixtures.js";
import { protocols, signalingClient, startTestServer } from "./support/test-server.js";

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ limits: { maxCandidatesPerSide: 4 } });
});
afterAll(() => server.shutdown(0));

describe.each(protocols)("AddIceCandidates over %s", (protocol) => {
  const client = () => signalingClient(protocol, server.url);

  it("adds a batch and end-of-candidates in one call; a watcher sees each as if added alone, one version each", async () => {
    const { channelId, offererToken: token } = await client().createChannel({});
    const watch = client().watchChannel({ channelId })[Symbol.asyncIterator]();
    expect((await watch.next()).value.event.case).toBe("snapshot");

    const added = await client().addIceCandidates({ channelId, token, candidates: [candidate(1), candidate(2), candidate(3)], endOfCandidates: true });
    expect(added).toMatchObject({ side: Side.OFFERER, addedCandidates: 3, markedComplete: true, version: 5 });

    const events = [];
    for (let i = 0; i < 4; i++) events.push((await watch.next()).value);
    expect(events.map((e) => [e.event.case, e.version])).toEqual([
      ["iceCandidateAdded", 2],
      ["iceCandidateAdded", 3],
      ["iceCandidateAdded", 4],
      ["iceCandidatesComplete", 5],
    ]);
    const listed = await client().listIceCandidates({ channelId, side: Side.OFFERER });
    expect(listed.candidates.map((c) => c.candidate)).toEqual([1, 2, 3].map((n) => candidate(n).candidate));
    expect(listed.complete).toBe(true);

    // A client resuming after version 3 misses nothing of the batch.
    const resumed = client().watchChannel({ channelId, afterVersion: 3 })[Symbol.asyncIterator]();
    expect([(await resumed.next()).value.version, (await resumed.next()).value.version]).toEqual([4, 5]);
    await client().closeChannel({ channelId, token });
  });

  it("ignores candidates already held, so a retried batch changes nothing", async () => {
    const { channelId, offererToken } = await client().createChannel({});
    await client().setOffer({ channelId, token: offererToken, offer });
    const { answererToken: token } = await client().setAnswer({ channelId, answer });
    await client().addIceCandidate({ channelId, token, item: { case: "candidate", value: candidate(1) } });
    const first = await client().addIceCandidates({ channelId, token, candidates: [candidate(1), candidate(2), candidate(2)] });
    expect(first).toMatchObject({ side: Side.ANSWERER, addedCandidates: 1, markedComplete: false, version: 5 });
    const retry = await client().addIceCandidates({ channelId, token, candidates: [candidate(1), candidate(2)] });
    expect(retry).toMatchObject({ addedCandidates: 0, markedComplete: false, version: 5 });
    const end = await client().addIceCandidates({ channelId, token, candidates: [candidate(2)], endOfCandidates: true });
    expect(end).toMatchObject({ addedCandidates: 0, markedComplete: true, version: 6 });
    const endAgain = await client().addIceCandidates({ channelId, token, endOfCandidates: true });
    expect(endAgain).toMatchObject({ addedCandidates: 0, markedComplete: false, version: 6 });
    await client().closeChannel({ channelId, token });
  });
});

describe("AddIceCandidates refuses", () => {
  const client = () => signalingClient("grpc", server.url);

  async function offered() {
    const { channelId, offererToken: token } = await client().createChannel({});
    return { channelId, token };
  }

  async function expectUnchanged(channelId: string, call: Promise<unknown>, code: Code): Promise<string> {
    const before = await client().getChannel({ channelId });
    const error = await expectCode(call, code);
    expect(await client().getChannel({ channelId })).toEqual(before);
    return error.rawMessage;
  }

  it("a request with nothing to add (INVALID_ARGUMENT)", async () => {
    const { channelId, token } = await offered();
    const message = await expectUnchanged(channelId, client().addIceCandidates({ channelId, token }), Code.InvalidArgument);
    expect(message).toContain("nothing to add");
  });

  it("a batch with one malformed candidate, naming its index, and adds none of the others (INVALID_ARGUMENT)", async () => {
    const { channelId, token } = await offered();
    const bad = { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host" };
    const noMid = await expectUnchanged(channelId, client().addIceCandidates({ channelId, token, candidates: [candidate(1), bad] }), Code.InvalidArgument);
    expect(noMid).toContain("candidates[1]");
    const tooBig = { ...candidate(2), candidate: "c".repeat(2049) };
    expect(await expectUnchanged(channelId, client().addIceCandidates({ channelId, token, candidates: [tooBig] }), Code.InvalidArgument)).toContain(
      "max-candidate-bytes",
    );
    const empty = { candidate: "", sdpMid: "0" };
    expect(await expectUnchanged(channelId, client().addIceCandidates({ channelId, token, candidates: [empty] }), Code.InvalidArgument)).toContain(
      "candidates[0].candidate",
    );
  });

  it("new candidates after end-of-candidates (FAILED_PRECONDITION)", async () => {
    const { channelId, token } = await offered();
    await client().addIceCandidates({ channelId, token, candidates: [candidate(1)], endOfCandidates: true });
    const call = client().addIceCandidates({ channelId, token, candidates: [candidate(1), candidate(2)] });
    expect(await expectUnchanged(channelId, call, Code.FailedPrecondition)).toContain("end-of-candidates");
  });

  it("a batch that would pass max-candidates-per-side, adding none of it (RESOURCE_EXHAUSTED)", async () => {
    const { channelId, token } = await offered();
    await client().addIceCandidates({ channelId, token, candidates: [candidate(1), candidate(2)] });
    const call = client().addIceCandidates({ channelId, token, candidates: [3, 4, 5].map((n) => candidate(n)), endOfCandidates: true });
    expect(await expectUnchanged(channelId, call, Code.ResourceExhausted)).toContain("max-candidates-per-side");
    expect((await client().addIceCandidates({ channelId, token, candidates: [candidate(1), candidate(3), candidate(4)] })).addedCandidates).toBe(2);
  });

  it("a missing, malformed or foreign token, and an unknown channel", async () => {
    const { channelId, token } = await offered();
    const other = await offered();
    const candidates = [candidate(1)];
    await expectUnchanged(channelId, client().addIceCandidates({ channelId, candidates }), Code.Unauthenticated);
    await expectUnchanged(channelId, client().addIceCandidates({ channelId, token: "x", candidates }), Code.PermissionDenied);
    await expectUnchanged(channelId, client().addIceCandidates({ channelId, token: other.token, candidates }), Code.PermissionDenied);
    await client().closeChannel({ channelId, token });
    await expectCode(client().addIceCandidates({ channelId, token, candidates }), Code.NotFound);
    await expectCode(client().addIceCandidates({ channelId: "", token, candidates }), Code.InvalidArgument);
  });
});
