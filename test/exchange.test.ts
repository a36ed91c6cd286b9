import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Side } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { answer, answerSdp, candidate, expectCode, offer, offerSdp } from "./support/fixtures.js";
import { protocols, signalingClient, startTestServer } from "./support/test-server.js";

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.shutdown(0));

describe.each(protocols)("a whole offer/answer/candidate exchange over %s", (protocol) => {
  it("pairs two peers, each seeing exactly what the other sent, as it happens", async () => {
    const offerer = signalingClient(protocol, server.url);
    const answerer = signalingClient(protocol, server.url);

    const created = await offerer.createChannel({});
    expect(created.channelId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.offererToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { channelId, offererToken } = created;

    // The offerer's token lets its stream show the answer side too.
    const offererWatch = offerer.watchChannel({ channelId, token: offererToken })[Symbol.asyncIterator]();
    const snapshot = await offererWatch.next();
    expect(snapshot.value.event.case).toBe("snapshot");
    expect(snapshot.value.version).toBe(1);

    await offerer.setOffer({ channelId, token: offererToken, offer });
    await offerer.addIceCandidate({ channelId, token: offererToken, item: { case: "candidate", value: candidate(1) } });
    await offerer.addIceCandidate({ channelId, token: offererToken, item: { case: "endOfCandidates", value: true } });

    const gotOffer = await answerer.getOffer({ channelId });
    expect(gotOffer.offer?.sdp).toBe(offerSdp);
    const answered = await answerer.setAnswer({ channelId, answer });
    const answererToken = answered.answererToken;
    expect(answererToken).not.toBe(offererToken);

    const fromOfferer = await answerer.listIceCandidates({ channelId, side: Side.OFFERER });
    expect(fromOfferer.candidates.map((c) => c.candidate)).toEqual([candidate(1).candidate]);
    expect(fromOfferer.candidates[0]).toMatchObject({ sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "abcd" });
    expect(fromOfferer.complete).toBe(true);

    const added = await answerer.addIceCandidate({ channelId, token: answererToken, item: { case: "candidate", value: candidate(2) } });
    expect(added.side).toBe(Side.ANSWERER);
    await answerer.addIceCandidate({ channelId, token: answererToken, item: { case: "endOfCandidates", value: true } });

    // The offerer learns everything through its stream, in order.
    const events = [];
    for (let i = 0; i < 6; i++) events.push((await offererWatch.next()).value);
    expect(events.map((e) => e.event.case)).toEqual([
      "offer",
      "iceCandidateAdded",
      "iceCandidatesComplete",
      "answer",
      "iceCandidateAdded",
      "iceCandidatesComplete",
    ]);
    expect(events.map((e) => e.version)).toEqual([2, 3, 4, 5, 6, 7]);
    const answerEvent = events[3]!.event;
    expect(answerEvent.case === "answer" && answerEvent.value.sdp).toBe(answerSdp);
    const remote = events[4]!.event;
    expect(remote.case === "iceCandidateAdded" && remote.value.side).toBe(Side.ANSWERER);

    const whole = await offerer.getChannel({ channelId, token: offererToken });
    expect(whole.channel).toMatchObject({
      channelId,
      version: 7,
      offererCandidatesComplete: true,
      answererCandidatesComplete: true,
    });
    expect(whole.channel?.answererCandidates.map((c) => c.candidate)).toEqual([candidate(2).candidate]);

    // Nothing more can change: the stream says so and ends by itself.
    const complete = (await offererWatch.next()).value;
    expect(complete).toMatchObject({ version: 7, event: { case: "exchangeComplete" } });
    expect((await offererWatch.next()).done).toBe(true);

    // Closing stays possible (early hang-up, or freeing the channel at once).
    await answerer.closeChannel({ channelId, token: answererToken });
    await expectCode(offerer.getChannel({ channelId }), Code.NotFound);
  });
});

describe("one port, both HTTP versions", () => {
  it("serves Connect over HTTP/2 (h2c) as well as HTTP/1.1", async () => {
    const { createConnectTransport } = await import("@connectrpc/connect-node");
    const { createClient } = await import("@connectrpc/connect");
    const { SignalingService } = await import("../gen/signaling/v1/signaling_pb.js");
    const h2 = createClient(SignalingService, createConnectTransport({ baseUrl: server.url, httpVersion: "2" }));
    const { channelId } = await h2.createChannel({});
    const h1 = signalingClient("connect", server.url);
    expect((await h1.getChannel({ channelId })).channel?.channelId).toBe(channelId);
  });

  it("answers GET /healthz with 200 while serving", async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "serving" });
  });
});
