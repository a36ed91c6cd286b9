import type { Client } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SignalingService } from "../gen/signaling/v1/signaling_pb.js";
import { SdpType, Side } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { answer, candidate, expectCode, offer, take } from "./support/fixtures.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

let server: RunningServer;
let client: Client<typeof SignalingService>;
beforeAll(async () => {
  server = await startTestServer();
  client = signalingClient("connect", server.url);
});
afterAll(() => server.shutdown(0));

/** A channel in each interesting state, with its tokens. */
async function channels() {
  const fresh = await client.createChannel({});
  const offered = await client.createChannel({});
  await client.setOffer({ channelId: offered.channelId, token: offered.offererToken, offer });
  const answered = await client.createChannel({});
  await client.setOffer({ channelId: answered.channelId, token: answered.offererToken, offer });
  const { answererToken } = await client.setAnswer({ channelId: answered.channelId, answer });
  await client.addIceCandidate({ channelId: answered.channelId, token: answererToken, item: { case: "endOfCandidates", value: true } });
  return { fresh, offered, answered: { ...answered, answererToken } };
}
type Channels = Awaited<ReturnType<typeof channels>>;

const someoneElsesToken = "A".repeat(43);
const unknownId = "6f1c1e8e-2f7e-4a53-9f43-5c2b1c7f0a11";

const cases: [string, Code, (c: Channels) => Promise<unknown>][] = [
  ["an empty channel id", Code.InvalidArgument, () => client.getChannel({ channelId: "" })],
  ["a channel id that is not a UUID", Code.InvalidArgument, () => client.getChannel({ channelId: "../../etc/passwd" })],
  ["an upper-case channel id", Code.InvalidArgument, (c) => client.getChannel({ channelId: c.fresh.channelId.toUpperCase() })],
  ["a channel that does not exist", Code.NotFound, () => client.getChannel({ channelId: unknownId })],
  ["a negative TTL", Code.InvalidArgument, () => client.createChannel({ ttl: { seconds: -5n } })],
  ["SetOffer without a token", Code.Unauthenticated, (c) => client.setOffer({ channelId: c.fresh.channelId, offer })],
  ["SetOffer with another channel's token", Code.PermissionDenied, (c) => client.setOffer({ channelId: c.fresh.channelId, token: c.offered.offererToken, offer })],
  ["SetOffer with a malformed token", Code.PermissionDenied, (c) => client.setOffer({ channelId: c.fresh.channelId, token: "x", offer })],
  ["SetOffer with a token of the right form but wrong", Code.PermissionDenied, (c) => client.setOffer({ channelId: c.fresh.channelId, token: someoneElsesToken, offer })],
  ["SetOffer with the answerer's token", Code.PermissionDenied, (c) => client.setOffer({ channelId: c.answered.channelId, token: c.answered.answererToken, offer })],
  ["SetOffer without an offer", Code.InvalidArgument, (c) => client.setOffer({ channelId: c.fresh.channelId, token: c.fresh.offererToken })],
  ["SetOffer with an answer", Code.InvalidArgument, (c) => client.setOffer({ channelId: c.fresh.channelId, token: c.fresh.offererToken, offer: answer })],
  ["SetOffer with an unset type", Code.InvalidArgument, (c) => client.setOffer({ channelId: c.fresh.channelId, token: c.fresh.offererToken, offer: { sdp: "v=0" } })],
  ["SetOffer with an unknown type", Code.InvalidArgument, (c) => client.setOffer({ channelId: c.fresh.channelId, token: c.fresh.offererToken, offer: { type: 7 as SdpType, sdp: "v=0" } })],
  ["SetOffer with an empty SDP", Code.InvalidArgument, (c) => client.setOffer({ channelId: c.fresh.channelId, token: c.fresh.offererToken, offer: { type: SdpType.OFFER, sdp: " \r\n" } })],
  ["SetOffer with an SDP over 64 KiB", Code.InvalidArgument, (c) => client.setOffer({ channelId: c.fresh.channelId, token: c.fresh.offererToken, offer: { type: SdpType.OFFER, sdp: "v".repeat(65537) } })],
  ["SetOffer after the answer", Code.FailedPrecondition, (c) => client.setOffer({ channelId: c.answered.channelId, token: c.answered.offererToken, offer })],
  ["GetOffer before any offer", Code.FailedPrecondition, (c) => client.getOffer({ channelId: c.fresh.channelId })],
  ["GetAnswer before any answer", Code.FailedPrecondition, (c) => client.getAnswer({ channelId: c.offered.channelId })],
  ["SetAnswer before any offer", Code.FailedPrecondition, (c) => client.setAnswer({ channelId: c.fresh.channelId, answer })],
  ["SetAnswer with an offer", Code.InvalidArgument, (c) => client.setAnswer({ channelId: c.offered.channelId, answer: offer })],
  ["a second SetAnswer", Code.AlreadyExists, (c) => client.setAnswer({ channelId: c.answered.channelId, answer })],
  ["AddIceCandidate with nothing to add", Code.InvalidArgument, (c) => client.addIceCandidate({ channelId: c.fresh.channelId, token: c.fresh.offererToken })],
  ["AddIceCandidate with end_of_candidates false", Code.InvalidArgument, (c) => client.addIceCandidate({ channelId: c.fresh.channelId, token: c.fresh.offererToken, item: { case: "endOfCandidates", value: false } })],
  ["AddIceCandidate with an empty candidate", Code.InvalidArgument, (c) => client.addIceCandidate({ channelId: c.fresh.channelId, token: c.fresh.offererToken, item: { case: "candidate", value: { candidate: "", sdpMid: "0" } } })],
  ["AddIceCandidate without sdp_mid or sdp_m_line_index", Code.InvalidArgument, (c) => client.addIceCandidate({ channelId: c.fresh.channelId, token: c.fresh.offererToken, item: { case: "candidate", value: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host" } } })],
  ["AddIceCandidate over 2 KiB", Code.InvalidArgument, (c) => client.addIceCandidate({ channelId: c.fresh.channelId, token: c.fresh.offererToken, item: { case: "candidate", value: { ...candidate(1), candidate: "c".repeat(2049) } } })],
  ["AddIceCandidate after end-of-candidates", Code.FailedPrecondition, (c) => client.addIceCandidate({ channelId: c.answered.channelId, token: c.answered.answererToken, item: { case: "candidate", value: candidate(9) } })],
  ["AddIceCandidate without a token", Code.Unauthenticated, (c) => client.addIceCandidate({ channelId: c.fresh.channelId, item: { case: "candidate", value: candidate(1) } })],
  ["ListIceCandidates without a side", Code.InvalidArgument, (c) => client.listIceCandidates({ channelId: c.fresh.channelId })],
  ["CloseChannel with a wrong token", Code.PermissionDenied, (c) => client.closeChannel({ channelId: c.fresh.channelId, token: someoneElsesToken })],
  ["WatchChannel with a malformed id", Code.InvalidArgument, () => take(client.watchChannel({ channelId: "nope" }), 1)],
];

describe("bad input", () => {
  it.each(cases)("%s fails with %s and changes nothing", async (_name, code, call) => {
    const c = await channels();
    const ids = [c.fresh.channelId, c.offered.channelId, c.answered.channelId];
    const before = await Promise.all(ids.map((channelId) => client.getChannel({ channelId })));
    const error = await expectCode(call(c), code);
    expect(error.rawMessage.length).toBeGreaterThan(10);
    const after = await Promise.all(ids.map((channelId) => client.getChannel({ channelId })));
    expect(after).toEqual(before);
  });

  it("names the field and the limit in the message", async () => {
    const { fresh } = await channels();
    const error = await expectCode(
      client.setOffer({ channelId: fresh.channelId, token: fresh.offererToken, offer: { type: SdpType.OFFER, sdp: "v".repeat(70000) } }),
      Code.InvalidArgument,
    );
    expect(error.rawMessage).toBe("offer.sdp: is 70000 bytes; at most 65536 are accepted (max-sdp-bytes)");
  });

  it("answers Connect JSON with a browser-style type name with INVALID_ARGUMENT, not a crash", async () => {
    const { fresh } = await channels();
    const res = await fetch(`${server.url}/signaling.v1.SignalingService/SetOffer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ channelId: fresh.channelId, token: fresh.offererToken, offer: { type: "offer", sdp: "v=0" } }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe("invalid_argument");
    expect((await client.getChannel({ channelId: fresh.channelId })).channel?.version).toBe(1);
  });

  it("lists only the side asked for", async () => {
    const { answered } = await channels();
    const offererSide = await client.listIceCandidates({ channelId: answered.channelId, side: Side.OFFERER });
    expect(offererSide.complete).toBe(false);
    const answererSide = await client.listIceCandidates({ channelId: answered.channelId, side: Side.ANSWERER, token: answered.offererToken });
    expect(answererSide.complete).toBe(true);
  });
});
