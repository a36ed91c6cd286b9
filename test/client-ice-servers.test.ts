import { afterEach, describe, expect, it } from "vitest";
import { fetchIceServers } from "../src/client/ice-servers.js";
import type { RunningServer } from "../src/server/app.js";
import { loadConfig } from "../src/server/config.js";
import { signalingClient, startTestServer, transportFor } from "./support/test-server.js";

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.shutdown(0);
  server = undefined;
});

async function serverWithIce(json: string): Promise<RunningServer> {
  const result = loadConfig(["--ice-servers", json], {});
  if (result.help) throw new Error("unexpected --help");
  return (server = await startTestServer({ ice: result.config.ice }));
}

describe("fetchIceServers (the browser SDK)", () => {
  it("returns the service's servers as RTCIceServer, with credentials only where there are some", async () => {
    const { url } = await serverWithIce(
      JSON.stringify([{ urls: "stun:stun.example.org:3478" }, { urls: ["turn:turn.example.org:3478"], username: "u", credential: "pw" }]),
    );
    // The browser transport (fetch), as the SDK uses it in a page, presenting the channel token the service asks for.
    const { channelId, offererToken: token } = await signalingClient("connect", url).createChannel({});
    expect(await fetchIceServers({ baseUrl: url, protocol: "grpc-web" }, { channelId, token })).toEqual([
      { urls: ["stun:stun.example.org:3478"] },
      { urls: ["turn:turn.example.org:3478"], username: "u", credential: "pw" },
    ]);
    expect(await fetchIceServers(transportFor("connect", url), { channelId, token })).toHaveLength(2);
    await expect(fetchIceServers({ baseUrl: url })).rejects.toThrow(/unauthenticated/);
  });

  it("returns none when the operator configured none", async () => {
    server = await startTestServer();
    const { channelId, offererToken: token } = await signalingClient("connect", server.url).createChannel({});
    expect(await fetchIceServers({ baseUrl: server.url }, { channelId, token })).toEqual([]);
  });
});
