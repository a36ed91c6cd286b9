import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { systemClock } from "../src/lib/clock.js";
import { MemoryChannelStore } from "../src/store/memory/memory-store.js";
import { offer } from "./support/fixtures.js";
import { protocols, signalingClient, startTestServer } from "./support/test-server.js";

/** A memory store whose SetOffer takes a while, to have a call in flight at shutdown. */
class SlowOfferStore extends MemoryChannelStore {
  override async setOffer(id: string, sdp: string) {
    await new Promise((r) => setTimeout(r, 300));
    return super.setOffer(id, sdp);
  }
}

describe("graceful shutdown", () => {
  it("ends open watch streams with UNAVAILABLE, lets in-flight calls finish, and refuses new connections", async () => {
    const store = new SlowOfferStore(systemClock, { maxChannels: 100, maxCandidatesPerSide: 10, maxChannelBytes: 1 << 20, maxStoreBytes: 1 << 26 });
    const server = await startTestServer({}, { store });
    const client = signalingClient("grpc", server.url);
    const { channelId, offererToken: token } = await client.createChannel({});

    const watchers = protocols.map(async (protocol) => {
      const stream = signalingClient(protocol, server.url).watchChannel({ channelId });
      try {
        for await (const _ of stream) void _;
        return "ended without error";
      } catch (error) {
        return Code[ConnectError.from(error).code];
      }
    });
    for (let i = 0; i < 200 && server.openWatchStreams() < 3; i++) await new Promise((r) => setTimeout(r, 5));
    expect(server.openWatchStreams()).toBe(3);

    const inFlight = client.setOffer({ channelId, token, offer });
    await new Promise((r) => setTimeout(r, 50));
    const stopped = server.shutdown(5_000);

    expect(await Promise.all(watchers)).toEqual(["Unavailable", "Unavailable", "Unavailable"]);
    expect((await inFlight).version).toBe(2);
    await stopped;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it.each(protocols)("fails %s calls still running when the grace period ends with UNAVAILABLE", async (protocol) => {
    class StuckStore extends MemoryChannelStore {
      override setOffer(): never {
        return new Promise(() => {}) as never;
      }
    }
    const server = await startTestServer({}, { store: new StuckStore(systemClock, { maxChannels: 10, maxCandidatesPerSide: 10, maxChannelBytes: 1 << 20, maxStoreBytes: 1 << 26 }) });
    const client = signalingClient(protocol, server.url);
    const { channelId, offererToken: token } = await client.createChannel({});
    const stuck = client.setOffer({ channelId, token, offer }).then(
      () => "answered",
      (e: unknown) => Code[ConnectError.from(e).code],
    );
    await new Promise((r) => setTimeout(r, 50));
    await server.shutdown(200);
    expect(await stuck).toBe("Unavailable");
  });
});
