import { Code } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WatchChannelResponse } from "../gen/signaling/v1/signaling_pb.js";
import { Side } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { answer, answerSdp, candidate, expectCode, offer, offerSdp } from "./support/fixtures.js";
import { protocols, signalingClient, startTestServer } from "./support/test-server.js";

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ limits: { maxCandidatesPerSide: 4 } });
});
afterAll(() => server.shutdown(0));

/** Counts the calls a client makes, streams included. */
function callCounter(): { interceptor: Interceptor; calls: string[] } {
  const calls: string[] = [];
  return { calls, interceptor: (next) => (req) => (calls.push(req.method.name), next(req)) };
}

async function drain(stream: AsyncIterable<WatchChannelResponse>): Promise<WatchChannelResponse[]> {
  const messages: WatchChannelResponse[] = [];
  for await (const message of stream) messages.push(message);
  return messages;
}

describe.each(protocols)("the short exchange over %s", (protocol) => {
  it("completes in four calls: the offer and candidates ride on CreateChannel, the answer's on SetAnswer, and both streams end by themselves", async () => {
    const counter = callCounter();
    const offerer = signalingClient(protocol, server.url, [counter.interceptor]);
    const answerer = signalingClient(protocol, server.url, [counter.interceptor]);

    const created = await offerer.createChannel({ offer, offererCandidates: [candidate(1), candidate(2)], offererEndOfCandidates: true });
    expect(created.version).toBe(5); // created, offer, two candidates, end-of-candidates
    const { channelId } = created;
    const offererStream = drain(offerer.watchChannel({ channelId, afterVersion: created.version, token: created.offererToken }));
    const answererStream = drain(answerer.watchChannel({ channelId }));

    const answered = await answerer.setAnswer({ channelId, answer, candidates: [candidate(3)], endOfCandidates: true });
    expect(answered.version).toBe(8);

    const [offererSaw, answererSaw] = await Promise.all([offererStream, answererStream]);
    expect(offererSaw.map((m) => m.event.case)).toEqual(["answer", "iceCandidateAdded", "iceCandidatesComplete", "exchangeComplete"]);
    const answerEvent = offererSaw[0]!.event;
    expect(answerEvent.case === "answer" && answerEvent.value.sdp).toBe(answerSdp);
    const remote = offererSaw[1]!.event;
    expect(remote.case === "iceCandidateAdded" && remote.value.side).toBe(Side.ANSWERER);
    expect(remote.case === "iceCandidateAdded" && remote.value.candidate?.candidate).toBe(candidate(3).candidate);

    // The answerer's stream began with the snapshot holding the offer and the offerer's candidates.
    const snapshot = answererSaw[0]!.event;
    expect(snapshot.case).toBe("snapshot");
    if (snapshot.case !== "snapshot") return;
    expect(snapshot.value.offer?.sdp).toBe(offerSdp);
    expect(snapshot.value.offererCandidates.map((c) => c.candidate)).toEqual([candidate(1).candidate, candidate(2).candidate]);
    expect(snapshot.value.offererCandidatesComplete).toBe(true);
    expect(answererSaw.at(-1)).toMatchObject({ version: 8, event: { case: "exchangeComplete" } });

    expect(counter.calls.sort()).toEqual(["CreateChannel", "SetAnswer", "WatchChannel", "WatchChannel"]);
  });
});

describe("the short exchange's rules", () => {
  const client = () => signalingClient("connect", server.url);

  it("refuses candidates or end-of-candidates on CreateChannel without an offer", async () => {
    expect((await expectCode(client().createChannel({ offererCandidates: [candidate(1)] }), Code.InvalidArgument)).message).toMatch(/offer/);
    expect((await expectCode(client().createChannel({ offererEndOfCandidates: true }), Code.InvalidArgument)).message).toMatch(/offer/);
  });

  it("checks every candidate riding on CreateChannel and names the bad one", async () => {
    expect((await expectCode(client().createChannel({ offer, offererCandidates: [candidate(1), { candidate: "" }] }), Code.InvalidArgument)).message).toMatch(/offerer_candidates\[1\]/);
  });

  it("refuses an offer with more candidates than a side holds, creating nothing", async () => {
    const candidates = [1, 2, 3, 4, 5].map((n) => candidate(n));
    expect((await expectCode(client().createChannel({ offer, offererCandidates: candidates }), Code.ResourceExhausted)).message).toMatch(/max-candidates-per-side/);
  });

  it("stores an answer and its candidates in one step: a refused batch leaves the channel unanswered", async () => {
    const { channelId } = await client().createChannel({ offer });
    const tooMany = [1, 2, 3, 4, 5].map((n) => candidate(n));
    expect((await expectCode(client().setAnswer({ channelId, answer, candidates: tooMany }), Code.ResourceExhausted)).message).toMatch(/max-candidates-per-side/);
    const { channel } = await client().getChannel({ channelId });
    expect(channel?.answer).toBeUndefined();
    expect(channel?.version).toBe(2);
    const answered = await client().setAnswer({ channelId, answer, candidates: [candidate(1)] });
    expect(answered.version).toBe(4);
  });

  it("stores a replaced offer and new candidates in one step, ignoring candidates already held", async () => {
    const { channelId, offererToken } = await client().createChannel({ offer, offererCandidates: [candidate(1)] });
    const set = await client().setOffer({ channelId, token: offererToken, offer, candidates: [candidate(1), candidate(2)], endOfCandidates: true });
    expect(set.version).toBe(6); // 3 after create; the offer, one new candidate, end-of-candidates
    const { channel } = await client().getChannel({ channelId });
    expect(channel?.offererCandidates.map((c) => c.candidate)).toEqual([candidate(1).candidate, candidate(2).candidate]);
    expect(channel?.offererCandidatesComplete).toBe(true);
  });

  it("tells a watcher of a finished channel at once: snapshot, then exchange_complete, then the end", async () => {
    const { channelId, offererToken: token } = await client().createChannel({ offer, offererEndOfCandidates: true });
    await client().setAnswer({ channelId, answer, endOfCandidates: true });
    const messages = await drain(client().watchChannel({ channelId, token }));
    expect(messages.map((m) => m.event.case)).toEqual(["snapshot", "exchangeComplete"]);
    const resumed = await drain(client().watchChannel({ channelId, afterVersion: 2, token }));
    expect(resumed.map((m) => m.event.case)).toEqual(["iceCandidatesComplete", "answer", "iceCandidatesComplete", "exchangeComplete"]);
  });

  it("keeps a stream open while one side still trickles, and ends it with that side's end-of-candidates", async () => {
    const { channelId } = await client().createChannel({ offer, offererEndOfCandidates: true });
    const { answererToken } = await client().setAnswer({ channelId, answer, candidates: [candidate(2)] });
    const stream = client().watchChannel({ channelId, token: answererToken })[Symbol.asyncIterator]();
    expect((await stream.next()).value.event.case).toBe("snapshot");
    await client().addIceCandidates({ channelId, token: answererToken, candidates: [candidate(3)], endOfCandidates: true });
    const rest: string[] = [];
    for (let next = await stream.next(); !next.done; next = await stream.next()) rest.push(next.value.event.case!);
    expect(rest).toEqual(["iceCandidateAdded", "iceCandidatesComplete", "exchangeComplete"]);
  });
});
