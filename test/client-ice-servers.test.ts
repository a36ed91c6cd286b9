import { afterEach, describe, expect, it } from "vitest";
import { SignalingSession } from "../src/client/index.js";
import type { IceAccess } from "../src/client/index.js";
import { fetchIceServers } from "../src/client/ice-servers.js";
import type { RunningServer } from "../src/server/app.js";
import { loadConfig } from "../src/server/config.js";
import { createLogger } from "../src/server/logger.js";
import { opensslHmacSha1Base64 } from "./support/openssl.js";
import { signalingClient, startTestServer, transportFor } from "./support/test-server.js";

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.shutdown(0);
  server = undefined;
});

async function serverWithIce(json: string, extraArgs: string[] = [], calls?: string[]): Promise<RunningServer> {
  const result = loadConfig(["--ice-servers", json, ...extraArgs], {});
  if (result.help) throw new Error("unexpected --help");
  const logger = createLogger("debug", (line) => calls?.push(line));
  return (server = await startTestServer({ ice: result.config.ice }, { logger }));
}

/**
 * Node has no RTCPeerConnection: a stand-in that records what the SDK asks of it, in order, and answers with
 * fixed SDP (no ICE agent: nothing is gathered). What a real browser does with it is test/browser-e2e.test.ts's.
 */
class RecordingPeerConnection extends EventTarget {
  readonly steps: string[] = [];
  localDescription: RTCSessionDescriptionInit | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  private configuration: RTCConfiguration = {};
  constructor(private readonly sdp: string) {
    super();
  }
  async createOffer() {
    this.steps.push("createOffer");
    return { type: "offer" as const, sdp: this.sdp };
  }
  async createAnswer() {
    this.steps.push("createAnswer");
    return { type: "answer" as const, sdp: this.sdp };
  }
  async setLocalDescription(description: RTCSessionDescriptionInit) {
    this.steps.push(`setLocalDescription ${description.type}`);
    this.localDescription = description;
  }
  async setRemoteDescription(description: RTCSessionDescriptionInit) {
    this.steps.push(`setRemoteDescription ${description.type}`);
    this.remoteDescription = description;
  }
  async addIceCandidate() {}
  getConfiguration() {
    return this.configuration;
  }
  setConfiguration(configuration: RTCConfiguration) {
    this.steps.push(`setConfiguration ${(configuration.iceServers ?? []).length}`);
    this.configuration = configuration;
  }
  get iceServers(): RTCIceServer[] {
    return this.configuration.iceServers ?? [];
  }
}

const asPc = (pc: RecordingPeerConnection) => pc as unknown as RTCPeerConnection;
const rpcCalls = (calls: string[], method: string) => calls.filter((line) => line.includes(`/${method}"`)).length;

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

describe("the SDK's iceServers option", () => {
  const turnArgs = ["--turn-rest-urls", "turn:turn.example.org:3478", "--turn-rest-secret", "sdk-secret-1"];
  const stun = JSON.stringify([{ urls: "stun:stun.example.org:3478" }]);

  it("applies the servers CreateChannel and SetAnswer return before setLocalDescription, with no GetIceServers or SetOffer call", async () => {
    const calls: string[] = [];
    const { url } = await serverWithIce(stun, turnArgs, calls);
    const client = signalingClient("connect", url);
    const asked: IceAccess[] = [];
    const iceServers = async (access: IceAccess) => (asked.push(access), []);

    const offererPc = new RecordingPeerConnection("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=offer\r\nt=0 0\r\n");
    const offerer = await SignalingSession.create(client, asPc(offererPc), { iceServers });
    expect(offererPc.steps).toEqual(["createOffer", "setConfiguration 2", "setLocalDescription offer"]);
    const [stunServer, turn] = offererPc.iceServers;
    expect(stunServer).toEqual({ urls: ["stun:stun.example.org:3478"] });
    expect(turn?.username).toMatch(new RegExp(`^\\d+:${offerer.channelId}$`));
    expect(turn?.credential).toBe(opensslHmacSha1Base64("sdk-secret-1", turn!.username as string));
    // The offer rode on CreateChannel: what createOffer made is what the channel holds.
    expect((await client.getOffer({ channelId: offerer.channelId })).offer?.sdp).toBe(offererPc.localDescription?.sdp);

    const answererPc = new RecordingPeerConnection("v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=answer\r\nt=0 0\r\n");
    const answerer = await SignalingSession.join(client, asPc(answererPc), offerer.channelId, { iceServers });
    expect(answererPc.steps).toEqual(["setRemoteDescription offer", "createAnswer", "setConfiguration 2", "setLocalDescription answer"]);
    expect(answererPc.iceServers[1]?.username).toMatch(new RegExp(`^\\d+:${offerer.channelId}$`));

    expect(asked).toEqual([]);
    expect([rpcCalls(calls, "CreateChannel"), rpcCalls(calls, "SetOffer"), rpcCalls(calls, "SetAnswer"), rpcCalls(calls, "GetIceServers")]).toEqual([1, 0, 1, 0]);
    await Promise.all([offerer.close(), answerer.close()]);
  });

  it("asks the function, with the channel and the token, when the service returns no servers", async () => {
    server = await startTestServer();
    const client = signalingClient("connect", server.url);
    const asked: IceAccess[] = [];
    const own = [{ urls: "stun:own.example.org" }];
    const offererPc = new RecordingPeerConnection("v=0\r\ns=offer\r\n");
    const offerer = await SignalingSession.create(client, asPc(offererPc), { iceServers: async (access) => (asked.push(access), own) });
    expect(offererPc.steps).toEqual(["createOffer", "setConfiguration 1", "setLocalDescription offer"]);
    expect(offererPc.iceServers).toEqual(own);
    expect(asked).toEqual([{ channelId: offerer.channelId, token: expect.any(String) }]);
    await offerer.close();
  });
});
