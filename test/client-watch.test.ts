import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { WatchChannelResponse } from "../gen/signaling/v1/signaling_pb.js";
import { SdpType } from "../gen/signaling/v1/signaling_pb.js";
import { resumableWatch } from "../src/client/watch.js";
import type { RunningServer } from "../src/server/app.js";
import { TcpProxy } from "./support/tcp-proxy.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

let server: RunningServer;
let proxy: TcpProxy;

beforeEach(async () => {
  server = await startTestServer();
  proxy = new TcpProxy(server.port);
  await proxy.listen();
});
afterEach(async () => {
  await proxy.close();
  await server.shutdown(0);
});

async function channelWithOffer() {
  const direct = signalingClient("connect", server.url);
  const { channelId, offererToken: token } = await direct.createChannel({});
  await direct.setOffer({ channelId, token, offer: { type: SdpType.OFFER, sdp: "v=0 offer" } });
  return { direct, channelId, token };
}

describe("resumableWatch (the browser SDK's WatchChannel)", () => {
  it("after a cut connection, resumes with exactly the changes it missed, none twice", async () => {
    const { direct, channelId, token } = await channelWithOffer();
    let reconnects = 0;
    const stream = resumableWatch(signalingClient("connect", proxy.url), channelId, {
      afterVersion: 0,
      maxRetries: 5,
      signal: new AbortController().signal,
      onReconnect: () => reconnects++,
    });
    const first = await stream.next();
    expect((first.value as WatchChannelResponse).event.case).toBe("snapshot");

    expect(proxy.cutAll()).toBeGreaterThan(0);
    for (const candidate of ["candidate:1 1 udp 1 127.0.0.1 5000 typ host", "candidate:2 1 udp 1 127.0.0.1 5001 typ host"]) {
      await direct.addIceCandidate({ channelId, token, item: { case: "candidate", value: { candidate, sdpMid: "0" } } });
    }
    await direct.addIceCandidate({ channelId, token, item: { case: "endOfCandidates", value: true } });

    const rest: WatchChannelResponse[] = [];
    for (let i = 0; i < 3; i++) rest.push((await stream.next()).value as WatchChannelResponse);
    // Connected again: a close now arrives as the stream's last message.
    await direct.closeChannel({ channelId, token });
    for await (const message of stream) rest.push(message);
    expect(rest.map((m) => (m.event.case === "iceCandidateAdded" ? m.event.value.candidate?.candidate : m.event.case))).toEqual([
      "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
      "candidate:2 1 udp 1 127.0.0.1 5001 typ host",
      "iceCandidatesComplete",
      "channelClosed",
    ]);
    const versions = [(first.value as WatchChannelResponse).version, ...rest.map((m) => m.version)];
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    expect(reconnects).toBeGreaterThanOrEqual(1);
  });

  it("gives up at once with NOT_FOUND for a channel that does not exist", async () => {
    let reconnects = 0;
    const stream = resumableWatch(signalingClient("connect", proxy.url), crypto.randomUUID(), {
      afterVersion: 0,
      maxRetries: 5,
      signal: new AbortController().signal,
      onReconnect: () => reconnects++,
    });
    const error = await stream.next().then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.NotFound);
    expect(reconnects).toBe(0);
  });

  it("gives up with UNAVAILABLE after maxRetries drops in a row", async () => {
    const { channelId } = await channelWithOffer();
    await proxy.close();
    const stream = resumableWatch(signalingClient("connect", proxy.url), channelId, {
      afterVersion: 0,
      maxRetries: 1,
      signal: new AbortController().signal,
    });
    const error = await stream.next().then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.Unavailable);
  });

  it("ends quietly when its signal aborts", async () => {
    const { channelId } = await channelWithOffer();
    const abort = new AbortController();
    const stream = resumableWatch(signalingClient("connect", proxy.url), channelId, { afterVersion: 0, maxRetries: 5, signal: abort.signal });
    expect((await stream.next()).done).toBe(false);
    const next = stream.next();
    abort.abort();
    expect(await next).toEqual({ done: true, value: undefined });
  });
});
