import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import type { IceCandidate, SignalingService } from "../gen/signaling/v1/signaling_pb.js";
import { SdpType, Side } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { callCompat, postCompat } from "./support/compat-client.js";
import { sampleCandidate, sampleSdp } from "./support/sdp-samples.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

let server: RunningServer;
let compat: string;
let rpc: Client<typeof SignalingService>;

beforeEach(async () => {
  server = await startTestServer({ compatPath: "/" });
  compat = `${server.url}/`;
  rpc = signalingClient("connect", server.url);
});
afterEach(() => server.shutdown(0));

const call = (method: string, fields: Record<string, unknown> = {}) => callCompat(compat, { method, ...fields });

function candidateFields(c: IceCandidate) {
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
}

describe("a channel made through the compat endpoint, seen through SignalingService", () => {
  it("shows the offer and answer as real SDP and each peer's candidates on its own side", async () => {
    const { channel_id: channelId } = (await call("create_data_channel")) as { channel_id: string };
    const offerSdp = sampleSdp("offer", "OfFr");
    const answerSdp = sampleSdp("answer", "AnSw");
    await call("create_offer", { channel_id: channelId, offer: { type: "offer", sdp: offerSdp } });
    const offererCandidate = sampleCandidate("OfFr", 50000);
    await call("create_candidate", { channel_id: channelId, candidate: offererCandidate });
    // The answerer trickles before its answer is posted: its fragment is not the offer's.
    const earlyAnswererCandidate = sampleCandidate("AnSw", 50001);
    await call("create_candidate", { channel_id: channelId, candidate: earlyAnswererCandidate });
    await call("create_answer", { channel_id: channelId, answer: { type: "answer", sdp: answerSdp } });
    // The offerer trickles after the answer: its fragment is still the offer's.
    const lateOffererCandidate = sampleCandidate("OfFr", 50002);
    await call("create_candidate", { channel_id: channelId, candidate: lateOffererCandidate });

    const { channel } = await rpc.getChannel({ channelId });
    expect(channel?.offer).toMatchObject({ type: SdpType.OFFER, sdp: offerSdp });
    expect(channel?.answer).toMatchObject({ type: SdpType.ANSWER, sdp: answerSdp });
    expect(channel?.offererCandidates.map(candidateFields)).toEqual([offererCandidate, lateOffererCandidate]);
    expect(channel?.answererCandidates.map(candidateFields)).toEqual([earlyAnswererCandidate]);
    expect((await rpc.getOffer({ channelId })).offer?.sdp).toBe(offerSdp);
    expect((await rpc.getAnswer({ channelId })).answer?.sdp).toBe(answerSdp);
  });

  it("without fragments to go by, puts candidates before the answer on the offerer's side and after it on the answerer's", async () => {
    const { channel_id: channelId } = (await call("create_data_channel")) as { channel_id: string };
    await call("create_offer", { channel_id: channelId, offer: "opaque offer" });
    await call("create_candidate", { channel_id: channelId, candidate: "before" });
    await call("create_answer", { channel_id: channelId, answer: "opaque answer" });
    await call("create_candidate", { channel_id: channelId, candidate: "after" });
    const offerer = await rpc.listIceCandidates({ channelId, side: Side.OFFERER });
    const answerer = await rpc.listIceCandidates({ channelId, side: Side.ANSWERER });
    expect(offerer.candidates.map((c) => c.candidate)).toEqual(['"before"']);
    expect(answerer.candidates.map((c) => c.candidate)).toEqual(['"after"']);
  });

  it("reads the fragments from values sent as JSON strings too", async () => {
    const { channel_id: channelId } = (await call("create_data_channel")) as { channel_id: string };
    await call("create_offer", { channel_id: channelId, offer: JSON.stringify({ type: "offer", sdp: sampleSdp("offer", "OfFr") }) });
    await call("create_candidate", { channel_id: channelId, candidate: sampleCandidate("AnSw", 50001).candidate });
    await call("create_answer", { channel_id: channelId, answer: JSON.stringify({ type: "answer", sdp: sampleSdp("answer", "AnSw") }) });
    await call("create_candidate", { channel_id: channelId, candidate: sampleCandidate("OfFr", 50000).candidate });
    const offerer = await rpc.listIceCandidates({ channelId, side: Side.OFFERER });
    const answerer = await rpc.listIceCandidates({ channelId, side: Side.ANSWERER });
    expect(offerer.candidates.map((c) => JSON.parse(c.candidate) as string)).toEqual([sampleCandidate("OfFr", 50000).candidate]);
    expect(answerer.candidates.map((c) => JSON.parse(c.candidate) as string)).toEqual([sampleCandidate("AnSw", 50001).candidate]);
  });

  it("shows a value of another shape as its JSON text", async () => {
    const { channel_id: channelId } = (await call("create_data_channel")) as { channel_id: string };
    await call("create_offer", { channel_id: channelId, offer: { sdp: "v=0", type: "offer", x: 1 } });
    expect((await rpc.getOffer({ channelId })).offer?.sdp).toBe('{"sdp":"v=0","type":"offer","x":1}');
  });

  it("tells watchers about compat changes as they happen", async () => {
    const { channel_id: channelId } = (await call("create_data_channel")) as { channel_id: string };
    const abort = new AbortController();
    const stream = rpc.watchChannel({ channelId }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.event.case).toBe("snapshot");
    const offerSdp = sampleSdp("offer", "OfFr");
    await call("create_offer", { channel_id: channelId, offer: { type: "offer", sdp: offerSdp } });
    const event = (await stream.next()).value?.event;
    expect(event).toMatchObject({ case: "offer", value: { sdp: offerSdp } });
    abort.abort();
  });

  it("cannot be written through SignalingService: there are no tokens to present", async () => {
    const { channel_id: channelId } = (await call("create_data_channel")) as { channel_id: string };
    const attempt = rpc.closeChannel({ channelId, token: "A".repeat(43) });
    await expect(attempt).rejects.toSatisfy((e) => e instanceof ConnectError && e.code === Code.PermissionDenied);
  });
});

describe("a channel made through SignalingService, seen through the compat endpoint", () => {
  /** A SignalingService channel with an offer, an answer and a candidate on each side. */
  async function answeredChannel() {
    const { channelId, offererToken } = await rpc.createChannel({});
    const offerSdp = sampleSdp("offer", "OfFr");
    await rpc.setOffer({ channelId, token: offererToken, offer: { type: SdpType.OFFER, sdp: offerSdp } });
    const offererCandidate = sampleCandidate("OfFr", 50000);
    await rpc.addIceCandidate({ channelId, token: offererToken, item: { case: "candidate", value: offererCandidate } });
    const { answererToken } = await rpc.setAnswer({ channelId, answer: { type: SdpType.ANSWER, sdp: sampleSdp("answer", "AnSw") } });
    const answererCandidate = { candidate: "candidate:1 1 udp 1 192.0.2.8 50001 typ host", sdpMid: "0" };
    await rpc.addIceCandidate({ channelId, token: answererToken, item: { case: "candidate", value: answererCandidate } });
    return { channelId, offerSdp, offererCandidate };
  }

  it("shows only its offer side, what the channel id alone reveals: the offer and the offerer's candidates", async () => {
    const { channelId, offerSdp, offererCandidate } = await answeredChannel();
    expect(await call("get_offer", { channel_id: channelId })).toEqual({ offer: { type: "offer", sdp: offerSdp } });
    expect(await call("get_candidates", { channel_id: channelId })).toEqual({ items: [offererCandidate] });
    const answer = await postCompat(compat, { method: "get_answer", channel_id: channelId });
    expect(answer).toMatchObject({ status: 400, text: expect.stringMatching(/created through SignalingService: its answer is for its offerer/) });
  });

  it("is never written through the compat endpoint: no offer, no answer, no candidate, on either side", async () => {
    const { channelId, offererToken } = await rpc.createChannel({});
    const offerSdp = sampleSdp("offer", "OfFr");
    await rpc.setOffer({ channelId, token: offererToken, offer: { type: SdpType.OFFER, sdp: offerSdp } });
    const before = await rpc.getChannel({ channelId });
    const writes = [
      { method: "create_offer", channel_id: channelId, offer: "forged" },
      { method: "create_answer", channel_id: channelId, answer: { type: "answer", sdp: sampleSdp("answer", "AnSw") } },
      { method: "create_candidate", channel_id: channelId, candidate: sampleCandidate("OfFr", 50000) },
      { method: "create_candidate", channel_id: channelId, candidate: sampleCandidate("AnSw", 50001) },
    ];
    for (const write of writes) {
      const reply = await postCompat(compat, write);
      expect(reply).toMatchObject({ status: 400, text: expect.stringMatching(/created through SignalingService: the compat endpoint never writes to it/) });
    }
    expect(await rpc.getChannel({ channelId })).toEqual(before);
    // The channel is still open to a SignalingService answerer.
    expect((await rpc.setAnswer({ channelId, answer: { type: SdpType.ANSWER, sdp: sampleSdp("answer", "AnSw") } })).answererToken).not.toBe("");
  });
});

describe("a compat channel answered through SignalingService", () => {
  it("puts compat candidates on the offerer's side, the only one without a token", async () => {
    const { channel_id: channelId } = (await call("create_data_channel")) as { channel_id: string };
    await call("create_offer", { channel_id: channelId, offer: { type: "offer", sdp: sampleSdp("offer", "OfFr") } });
    await rpc.setAnswer({ channelId, answer: { type: SdpType.ANSWER, sdp: sampleSdp("answer", "AnSw") } });
    const candidate = sampleCandidate("OfFr", 50000);
    await call("create_candidate", { channel_id: channelId, candidate });
    expect((await rpc.listIceCandidates({ channelId, side: Side.OFFERER })).candidates.map(candidateFields)).toEqual([candidate]);
  });
});
