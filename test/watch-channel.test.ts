import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { MemoryChannelStore } from "../src/store/memory/memory-store.js";
import type { ChannelStore } from "../src/store/store.js";
import { FakeClock } from "./support/fake-clock.js";
import { candidate, expectCode, offer, take } from "./support/fixtures.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
});

async function serve(clock = new FakeClock(), store?: (clock: FakeClock) => ChannelStore) {
  const server = await startTestServer(
    { limits: { keepAliveIntervalMs: 15_000 } },
    { clock, ...(store && { store: store(clock) }) },
  );
  servers.push(server);
  return { server, clock, client: signalingClient("grpc", server.url) };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}

describe("WatchChannel", () => {
  it("resumes from the last version seen with nothing lost and nothing doubled", async () => {
    const { client } = await serve();
    const { channelId, offererToken: token } = await client.createChannel({});
    await client.setOffer({ channelId, token, offer });
    await client.addIceCandidate({ channelId, token, item: { case: "candidate", value: candidate(1) } });

    // A first connection sees the snapshot and one change, then drops.
    const first = await take(client.watchChannel({ channelId }), 1);
    expect(first[0]!.version).toBe(3);
    const seen = first[0]!.version;

    // Changes land while the client is away.
    await client.addIceCandidate({ channelId, token, item: { case: "candidate", value: candidate(2) } });
    await client.addIceCandidate({ channelId, token, item: { case: "candidate", value: candidate(3) } });
    await client.addIceCandidate({ channelId, token, item: { case: "endOfCandidates", value: true } });

    const resumed = await take(client.watchChannel({ channelId, afterVersion: seen }), 3);
    expect(resumed.map((m) => m.version)).toEqual([4, 5, 6]);
    expect(resumed.map((m) => m.event.case)).toEqual(["iceCandidateAdded", "iceCandidateAdded", "iceCandidatesComplete"]);
    const added = resumed.map((m) => (m.event.case === "iceCandidateAdded" ? m.event.value.candidate?.candidate : undefined));
    expect(added.slice(0, 2)).toEqual([candidate(2).candidate, candidate(3).candidate]);
  });

  it("refuses to resume from a version the channel has not reached", async () => {
    const { client } = await serve();
    const { channelId } = await client.createChannel({});
    await expectCode(take(client.watchChannel({ channelId, afterVersion: 9 }), 1), Code.InvalidArgument);
  });

  it("neither loses nor doubles a change that lands while the stream starts", async () => {
    // A store whose read is overtaken by a write, as between two instances.
    let racer: (() => Promise<unknown>) | undefined;
    class RacingStore extends MemoryChannelStore {
      override async getChannel(id: string) {
        const writeDuringRead = racer;
        racer = undefined;
        if (writeDuringRead) await writeDuringRead();
        return super.getChannel(id);
      }
    }
    const { client } = await serve(new FakeClock(), (clock) => new RacingStore(clock, { maxChannels: 10, maxCandidatesPerSide: 10, maxChannelBytes: 1 << 20, maxStoreBytes: 1 << 26 }));
    const { channelId, offererToken: token } = await client.createChannel({});
    await client.setOffer({ channelId, token, offer });
    racer = () => client.addIceCandidate({ channelId, token, item: { case: "candidate", value: candidate(1) } });
    const stream = client.watchChannel({ channelId, afterVersion: 2 })[Symbol.asyncIterator]();
    const firstMessage = (await stream.next()).value;
    expect(firstMessage.version).toBe(3);
    await client.addIceCandidate({ channelId, token, item: { case: "candidate", value: candidate(2) } });
    const second = (await stream.next()).value;
    expect(second.version).toBe(4);
    await stream.return?.();
  });

  it("ends with channel_expired at the expire time", async () => {
    const { client, clock } = await serve();
    const { channelId } = await client.createChannel({ ttl: { seconds: 60n } });
    const stream = client.watchChannel({ channelId })[Symbol.asyncIterator]();
    expect((await stream.next()).value.event.case).toBe("snapshot");
    clock.advance(59_999);
    await client.getChannel({ channelId });
    clock.advance(1);
    let last = (await stream.next()).value;
    while (last.event.case === "keepAlive") last = (await stream.next()).value;
    expect(last.event.case).toBe("channelExpired");
    expect((await stream.next()).done).toBe(true);
  });

  it("sends keep-alives while idle, at the configured interval", async () => {
    const { client, clock } = await serve();
    const { channelId } = await client.createChannel({});
    const stream = client.watchChannel({ channelId })[Symbol.asyncIterator]();
    expect((await stream.next()).value.event.case).toBe("snapshot");
    const next = stream.next();
    clock.advance(15_000);
    const keepAlive = (await next).value;
    expect(keepAlive.event.case).toBe("keepAlive");
    expect(keepAlive.version).toBe(1);
    await stream.return?.();
  });

  it("frees the server's stream when the client cancels", async () => {
    const { client, server } = await serve();
    const { channelId } = await client.createChannel({});
    const abort = new AbortController();
    const stream = client.watchChannel({ channelId }, { signal: abort.signal })[Symbol.asyncIterator]();
    await stream.next();
    expect(server.openWatchStreams()).toBe(1);
    abort.abort();
    await until(() => server.openWatchStreams() === 0);
  });

  it("frees the server's stream when the client's deadline passes", async () => {
    const { client, server } = await serve();
    const { channelId } = await client.createChannel({});
    const error = await expectCode(
      (async () => {
        for await (const _ of client.watchChannel({ channelId }, { timeoutMs: 300 })) void _;
      })(),
      Code.DeadlineExceeded,
    );
    expect(error).toBeDefined();
    await until(() => server.openWatchStreams() === 0);
  });

  it("refuses a channel that does not exist with NOT_FOUND", async () => {
    const { client, server } = await serve();
    await expectCode(take(client.watchChannel({ channelId: crypto.randomUUID() }), 1), Code.NotFound);
    await until(() => server.openWatchStreams() === 0);
  });
});
