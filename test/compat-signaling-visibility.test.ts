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
  server = await startTestServer();
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
  it("returns the offer as RTCSessionDescriptionInit and the offerer's candidates, never the answer side (it is the offerer's to read)", async () => {
    const { channelId, offererToken } = await rpc.createChannel({});
    const offerSdp = sampleSdp("offer", "OfFr");
    const answerSdp = sampleSdp("answer", "AnSw");
    await rpc.setOffer({ channelId, token: offererToken, offer: { type: SdpType.OFFER, sdp: offerSdp } });
    const first = sampleCandidate("OfFr", 50000);
    await rpc.addIceCandidate({ channelId, token: offererToken, item: { case: "candidate", value: first } });
    const { answererToken } = await rpc.setAnswer({ channelId, answer: { type: SdpType.ANSWER, sdp: answerSdp } });
    const second = { candidate: "candidate:1 1 udp 1 192.0.2.8 50001 typ host", sdpMid: "0" };
    await rpc.addIceCandidate({ channelId, token: answererToken, item: { case: "candidate", value: second } });

    expect(await call("get_offer", { channel_id: channelId })).toEqual({ offer: { type: "offer", sdp: offerSdp } });
    const answerRead = await postCompat(compat, { method: "get_answer", channel_id: channelId });
    expect(answerRead.status).toBe(400);
    expect(answerRead.text).not.toContain("AnSw");
    expect(await call("get_candidates", { channel_id: channelId })).toEqual({ items: [first] });
    expect((await rpc.getAnswer({ channelId, token: offererToken })).answer?.sdp).toBe(answerSdp);
    expect((await rpc.listIceCandidates({ channelId, side: Side.ANSWERER, token: offererToken })).candidates).toMatchObject([second]);
  });

  it("takes a compat answerer: its answer and candidates land on the answerer's side", async () => {
    const { channelId, offererToken } = await rpc.createChannel({});
    await rpc.setOffer({ channelId, token: offererToken, offer: { type: SdpType.OFFER, sdp: sampleSdp("offer", "OfFr") } });
    const early = sampleCandidate("AnSw", 50001);
    await call("create_candidate", { channel_id: channelId, candidate: early });
    await call("create_answer", { channel_id: channelId, answer: { type: "answer", sdp: sampleSdp("answer", "AnSw") } });
    const late = sampleCandidate("AnSw", 50002);
    await call("create_candidate", { channel_id: channelId, candidate: late });
    const answerer = await rpc.listIceCandidates({ channelId, side: Side.ANSWERER, token: offererToken });
    expect(answerer.candidates.map(candidateFields)).toEqual([early, late]);
    // The endpoint has no tokens: it never shows this channel's answer side, which is its offerer's to read.
    expect(await call("get_candidates", { channel_id: channelId })).toEqual({ items: [] });
    expect((await rpc.listIceCandidates({ channelId, side: Side.OFFERER })).candidates).toEqual([]);
  });

  it("keeps the token-protected offerer's side out of compat reach: no offer replacement, no candidates", async () => {
    const { channelId, offererToken } = await rpc.createChannel({});
    const offerSdp = sampleSdp("offer", "OfFr");
    await rpc.setOffer({ channelId, token: offererToken, offer: { type: SdpType.OFFER, sdp: offerSdp } });
    const replace = await postCompat(compat, { method: "create_offer", channel_id: channelId, offer: "forged" });
    expect(replace).toMatchObject({ status: 400, text: expect.stringMatching(/created through SignalingService: only its offerer can set the offer/) });
    // A candidate naming the offer's fragment still cannot reach the offerer's side.
    await call("create_candidate", { channel_id: channelId, candidate: sampleCandidate("OfFr", 50000) });
    expect((await rpc.listIceCandidates({ channelId, side: Side.OFFERER })).candidates).toEqual([]);
    expect((await rpc.getOffer({ channelId })).offer?.sdp).toBe(offerSdp);
  });

  it("refuses compat candidates once both peers hold tokens", async () => {
    const { channelId, offererToken } = await rpc.createChannel({});
    await rpc.setOffer({ channelId, token: offererToken, offer: { type: SdpType.OFFER, sdp: sampleSdp("offer", "OfFr") } });
    await rpc.setAnswer({ channelId, answer: { type: SdpType.ANSWER, sdp: sampleSdp("answer", "AnSw") } });
    const reply = await postCompat(compat, { method: "create_candidate", channel_id: channelId, candidate: sampleCandidate("AnSw", 1) });
    expect(reply).toMatchObject({ status: 400, text: expect.stringMatching(/both peers of channel .* hold SignalingService tokens/) });
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
