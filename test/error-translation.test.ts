import { Code, ConnectError } from "@connectrpc/connect";
import { MongoServerError } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { createLogger } from "../src/server/logger.js";
import { correlationIdHeader } from "../src/server/pipeline/errors.js";
import { limitSettingHeader } from "../src/service/limit-error.js";
import { systemClock } from "../src/lib/clock.js";
import { MemoryChannelStore } from "../src/store/memory/memory-store.js";
import type { ChannelState, NewChannel } from "../src/store/channel.js";
import { StoreError } from "../src/store/store.js";
import type { Protocol } from "./support/test-server.js";
import { protocols, signalingClient, startTestServer } from "./support/test-server.js";

const limitedId = "00000000-0000-4000-8000-000000000001";
const brokenId = "00000000-0000-4000-8000-000000000002";
const secretUri = "mongodb://switchboard:hunter2@db.internal:27017";

/** A store whose driver fails in a way nobody planned for, quoting its connection string as drivers do. */
class BrokenStore extends MemoryChannelStore {
  override async createChannel(init: NewChannel): Promise<ChannelState> {
    if (init.id.length > 0) throw new MongoServerError({ message: `E11999 write failed on ${secretUri}`, code: 11999 });
    return super.createChannel(init);
  }
  override async getChannel(id: string): Promise<ChannelState | undefined> {
    if (id === limitedId) throw new StoreError("channel-limit", id, `MongoDB said: ${secretUri}`);
    throw new TypeError(`cannot read properties of a driver reply from ${secretUri}`);
  }
}

const lines: Record<string, unknown>[] = [];
let server: RunningServer;
beforeAll(async () => {
  const logger = createLogger("info", (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  server = await startTestServer({}, { logger, store: new BrokenStore(systemClock, { maxChannels: 10, maxCandidatesPerSide: 4, maxChannelBytes: 1 << 20, maxStoreBytes: 1 << 26 }) });
});
afterAll(() => server.shutdown(0));

async function failureOf(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

function expectInternalWithLoggedId(error: ConnectError, procedure: string): void {
  expect(error.code).toBe(Code.Internal);
  expect(error.rawMessage).not.toContain("hunter2");
  expect(error.rawMessage).not.toContain("db.internal");
  expect(error.rawMessage).not.toMatch(/ at |E11999|TypeError/);
  const id = error.metadata.get(correlationIdHeader);
  expect(id).toMatch(/^[\w-]{6,12}$/);
  expect(error.rawMessage).toContain(id!);
  const logged = lines.filter((line) => line["correlationId"] === id);
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatchObject({ level: "error", procedure: expect.stringContaining(procedure) });
  expect(String(logged[0]!["error"])).toContain(secretUri);
}

describe.each(protocols)("errors leave the server as status codes (%s)", (protocol: Protocol) => {
  const client = () => signalingClient(protocol, server.url);

  it("answers a driver error nobody expected with INTERNAL and a correlation id that the error log line carries with the real error", async () => {
    expectInternalWithLoggedId(await failureOf(client().createChannel({})), "CreateChannel");
  });

  it("does the same for a streaming call that fails while it streams", async () => {
    const stream = client().watchChannel({ channelId: brokenId });
    expectInternalWithLoggedId(await failureOf(stream[Symbol.asyncIterator]().next()), "WatchChannel");
  });

  it("answers a store limit with RESOURCE_EXHAUSTED naming the setting, without the store's own detail", async () => {
    const error = await failureOf(client().getOffer({ channelId: limitedId }));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.metadata.get(limitSettingHeader)).toBe("max-channels");
    expect(error.rawMessage).toContain("max-channels");
    expect(error.rawMessage).not.toContain("hunter2");
  });
});
