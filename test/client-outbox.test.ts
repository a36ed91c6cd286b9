import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Side } from "../gen/signaling/v1/signaling_pb.js";
import { CandidateOutbox } from "../src/client/outbox.js";
import type { SignalingClient } from "../src/client/transport.js";
import type { RunningServer } from "../src/server/app.js";
import { candidate } from "./support/fixtures.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.shutdown(0));

/** A real client of the test server that also records the candidate calls it makes. */
function recordingClient(): { client: SignalingClient; calls: { candidates: string[]; end: boolean }[] } {
  const real = signalingClient("connect", server.url);
  const calls: { candidates: string[]; end: boolean }[] = [];
  const client: SignalingClient = {
    ...real,
    addIceCandidates: (request, options) => {
      calls.push({ candidates: (request.candidates ?? []).map((c) => c.candidate ?? ""), end: request.endOfCandidates ?? false });
      return real.addIceCandidates(request, options);
    },
  };
  return { client, calls };
}

function outbox(client: SignalingClient, channelId: string) {
  const errors: unknown[] = [];
  const box = new CandidateOutbox(client, channelId, 2, new AbortController().signal, (e) => errors.push(e));
  return { box, errors };
}

describe("CandidateOutbox (the browser SDK's candidate sender)", () => {
  it("sends candidates gathered in the same tick, and end-of-candidates, in one AddIceCandidates call", async () => {
    const { client, calls } = recordingClient();
    const { channelId, offererToken } = await client.createChannel({});
    const { box, errors } = outbox(client, channelId);
    box.start(offererToken);
    for (const n of [1, 2, 3]) box.push(candidate(n));
    box.push("end");
    await box.allSent;
    expect(calls).toEqual([{ candidates: [1, 2, 3].map((n) => candidate(n).candidate), end: true }]);
    const listed = await client.listIceCandidates({ channelId, side: Side.OFFERER });
    expect(listed.candidates.map((c) => c.candidate)).toEqual([1, 2, 3].map((n) => candidate(n).candidate));
    expect(listed.complete).toBe(true);
    expect(errors).toEqual([]);
  });

  it("holds what is gathered before the token is known, then sends it in order; later candidates follow in later calls", async () => {
    const { client, calls } = recordingClient();
    const { channelId, offererToken } = await client.createChannel({});
    const { box, errors } = outbox(client, channelId);
    box.push(candidate(1));
    await new Promise((r) => setTimeout(r, 0));
    box.push(candidate(2));
    box.start(offererToken);
    await new Promise((r) => setTimeout(r, 0));
    await client.getChannel({ channelId }); // the first call has had time to go out
    box.push(candidate(3));
    box.push("end");
    await box.allSent;
    expect(calls[0]).toEqual({ candidates: [candidate(1).candidate, candidate(2).candidate], end: false });
    expect(calls.flatMap((c) => c.candidates)).toEqual([1, 2, 3].map((n) => candidate(n).candidate));
    expect(calls.at(-1)?.end).toBe(true);
    const listed = await client.listIceCandidates({ channelId, side: Side.OFFERER });
    expect(listed.candidates.map((c) => c.candidate)).toEqual([1, 2, 3].map((n) => candidate(n).candidate));
    expect(errors).toEqual([]);
  });
});
