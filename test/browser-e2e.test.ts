import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WatchChannelResponse } from "../gen/signaling/v1/signaling_pb.js";
import { create } from "@bufbuild/protobuf";
import { Side, WatchChannelResponseSchema } from "../gen/signaling/v1/signaling_pb.js";
import { channelMessage, completeMessage, endMessage, eventMessage } from "../src/service/convert.js";
import { exchangeComplete } from "../src/store/channel.js";
import { eventsSince } from "../src/store/channel-events.js";
import type { ChannelChange } from "../src/store/store.js";
import type { RunningServer } from "../src/server/app.js";
import type { Config } from "../src/server/config.js";
import type { Logger } from "../src/server/logger.js";
import { createLogger } from "../src/server/logger.js";
import type { Browser } from "./support/chromium.js";
import { chromiumForSuite } from "./support/chromium.js";
import type { DemoFixture } from "./support/demo-fixture.js";
import { outputDir, startDemoFixture } from "./support/demo-fixture.js";
import { StunServer } from "./support/stun-server.js";
import { TcpProxy } from "./support/tcp-proxy.js";
import { startTestServer } from "./support/test-server.js";

const haveChromium = chromiumForSuite("browser-e2e");
const connectTimeout = { timeout: 30_000 };

describe.skipIf(!haveChromium)("the demo in headless Chromium", () => {
  let fixture: DemoFixture;
  let demoServer: RunningServer;
  let browser: Browser;
  const apis: RunningServer[] = [];
  const stuns: StunServer[] = [];

  beforeAll(async () => {
    // The page comes from one origin and calls the API on another, so every call is a CORS call.
    fixture = await startDemoFixture();
    ({ demoServer, browser } = fixture);
  }, 120_000);

  afterAll(async () => {
    await fixture?.close();
    await Promise.all(apis.map((s) => s.shutdown(0)));
    await Promise.all(stuns.map((s) => s.close()));
  });

  async function apiAllowing(origin: string, logger?: Logger, ice?: Config["ice"]): Promise<RunningServer> {
    const api = await startTestServer({ port: fixture.nextApiPort(), demo: false, corsAllowedOrigins: [origin], ...(ice && { ice }) }, { logger });
    apis.push(api);
    return api;
  }

  async function openDemo(query: string): Promise<Page> {
    const page = await browser.context.newPage();
    await page.goto(`${demoServer.url}/demo?${query}`);
    return page;
  }

  async function chat(from: Page, to: Page, text: string): Promise<void> {
    await from.fill("#message", text);
    await from.click("#send");
    await to.locator("#messages li.peer", { hasText: text }).waitFor(connectTimeout);
  }

  /**
   * Every message of the channel's watch stream until it ends (the demo closes the channel once connected). Only
   * the pages hold the channel's tokens, so the test watches the server's store: a tokenless stream would show the
   * offer side only.
   */
  async function watchAll(api: RunningServer, channelId: string): Promise<WatchChannelResponse[]> {
    const events: WatchChannelResponse[] = [];
    let sent = 0;
    let ended: (() => void) | undefined;
    const changes: ChannelChange[] = [];
    const apply = (change: ChannelChange) => {
      if (change.kind === "updated") {
        if (change.state.version <= sent) return;
        for (const event of eventsSince(change.state, sent)) events.push(create(WatchChannelResponseSchema, eventMessage(event)));
        sent = change.state.version;
        if (exchangeComplete(change.state)) {
          events.push(create(WatchChannelResponseSchema, completeMessage(sent)));
          ended?.();
        }
      } else if (change.kind !== "failed") {
        events.push(create(WatchChannelResponseSchema, endMessage(change)));
        ended?.();
      }
    };
    // Subscribed before the read, as WatchChannel does, so no change falls between the two.
    const stop = api.store.watchChannel(channelId, (change) => (ended ? apply(change) : changes.push(change)));
    const first = await api.store.getChannel(channelId);
    if (first) {
      events.push(create(WatchChannelResponseSchema, { version: first.version, event: { case: "snapshot", value: channelMessage(first) } }));
      sent = first.version;
      if (exchangeComplete(first)) {
        stop();
        events.push(create(WatchChannelResponseSchema, completeMessage(sent)));
        return events;
      }
    }
    await new Promise<void>((resolve) => {
      ended = resolve;
      for (const change of changes.splice(0)) apply(change);
    });
    stop();
    return events;
  }

  // Over Connect the pages use the service's ICE servers (?ice=service), here a STUN server of the test's own: each
  // side sends its description as created and applies it once the servers CreateChannel or SetAnswer returned are in
  // its configuration, so both gather with them and no GetIceServers call is made. Over gRPC-Web they take the
  // short path.
  for (const [protocol, serviceIce] of [["connect", true], ["grpc-web", false]] as const) {
    it(`connects two tabs through the service over ${protocol} and chats both ways${serviceIce ? ", with the service's ICE servers" : ""}`, async () => {
      const calls: string[] = [];
      const stun = new StunServer();
      stuns.push(stun);
      const ice = serviceIce ? { staticServers: [{ urls: [await stun.listen()] }], turnRest: undefined, requireToken: true } : undefined;
      const api = await apiAllowing(demoServer.url, createLogger("debug", (line) => calls.push(line)), ice);
      const query = { api: api.url, protocol, ...(serviceIce && { ice: "service" }) };
      const offerer = await openDemo(new URLSearchParams(query).toString());
      const link = offerer.locator("#share-link");
      await link.waitFor(connectTimeout);
      const joinUrl = await link.getAttribute("href");
      expect(joinUrl).toContain(`${demoServer.url}/demo?`);
      const watched = watchAll(api, new URL(joinUrl!).searchParams.get("channel")!);
      watched.catch(() => {}); // awaited below; a test failing before then must not leave it unhandled

      const answerer = await browser.context.newPage();
      await answerer.goto(joinUrl!);
      for (const page of [offerer, answerer]) {
        await page.locator('#status[data-state="connected"]').waitFor(connectTimeout);
      }

      await chat(offerer, answerer, `hello from the offerer over ${protocol}`);
      await chat(answerer, offerer, "hello back from the answerer");
      expect(await offerer.locator("#messages li").allTextContents()).toEqual([
        `hello from the offerer over ${protocol}`,
        "hello back from the answerer",
      ]);
      await offerer.screenshot({ path: join(outputDir, `demo-chat-${protocol}.png`) });

      // What went through the service: the offer (riding on CreateChannel), the answer, each side's candidates
      // and its end-of-candidates, then exchange_complete ending the streams; nobody needs to close the channel.
      const events = await watched;
      const kinds = events.map((e) => e.event.case);
      expect(kinds).toContain("answer");
      for (const side of [Side.OFFERER, Side.ANSWERER]) {
        const candidates = events.flatMap(({ event }) => {
          if (event.case === "snapshot") {
            return (side === Side.OFFERER ? event.value.offererCandidates : event.value.answererCandidates).map((c) => c.candidate);
          }
          return event.case === "iceCandidateAdded" && event.value.side === side ? [event.value.candidate!.candidate] : [];
        });
        expect(candidates.length).toBeGreaterThan(0);
        expect(candidates.filter((c) => /\.local /.test(c))).toEqual([]);
        // Host candidates; with the service's STUN server also reflexive ones it told a side (when its answer arrived in time).
        expect(candidates.filter((c) => !/ typ (host|srflx) /.test(c) || (!serviceIce && / typ srflx /.test(c)))).toEqual([]);
        if (serviceIce) {
          // Each side gathered with the STUN server CreateChannel or SetAnswer gave it: a Binding request came
          // from the port of one of its host candidates.
          const hostPorts = candidates.flatMap((c) => / (\d+) typ host /.exec(c)?.[1] ?? []);
          const askedFrom = stun.requests.map((from) => from.split(":").at(-1)!);
          expect(hostPorts.filter((port) => askedFrom.includes(port)), `side ${side}: ${candidates.join(" | ")}; STUN from ${stun.requests.join(", ")}`).not.toEqual([]);
        }
        const complete = events.some(({ event }) =>
          event.case === "snapshot"
            ? (side === Side.OFFERER ? event.value.offererCandidatesComplete : event.value.answererCandidatesComplete)
            : event.case === "iceCandidatesComplete" && event.value.side === side,
        );
        expect(complete).toBe(true);
      }
      expect(kinds.at(-1)).toBe("exchangeComplete");
      const signalingCalls = (method: string) => calls.filter((line) => line.includes(`/signaling.v1.SignalingService/${method}"`)).length;
      expect([signalingCalls("CreateChannel"), signalingCalls("SetOffer"), signalingCalls("SetAnswer"), signalingCalls("CloseChannel")]).toEqual([1, 0, 1, 0]);
      // With ?ice=service the servers came with the tokens: neither page needed to ask GetIceServers.
      const iceCalls = calls.filter((line) => line.includes("/signaling.v1.IceService/GetIceServers"));
      expect(iceCalls).toHaveLength(0);
      if (!serviceIce) expect(stun.requests).toEqual([]);
      await Promise.all([offerer.close(), answerer.close()]);
    }, 90_000);
  }

  it("resumes the offerer's watch stream after its connection is cut, and still connects", async () => {
    const api = await apiAllowing(demoServer.url);
    const proxy = new TcpProxy(api.port);
    await proxy.listen(fixture.nextApiPort());
    try {
      const offerer = await openDemo(new URLSearchParams({ api: proxy.url }).toString());
      const watchRequests: { afterVersion?: number }[] = [];
      offerer.on("request", (request) => {
        // A Connect streaming request body is one enveloped JSON message: 5 bytes of flags and length, then JSON.
        if (request.url().endsWith("/WatchChannel")) watchRequests.push(JSON.parse(request.postDataBuffer()!.subarray(5).toString()));
      });
      let watchResponses = 0;
      offerer.on("response", (response) => {
        if (response.url().endsWith("/WatchChannel")) watchResponses++;
      });
      const link = offerer.locator("#share-link");
      await link.waitFor(connectTimeout);
      // The stream is open (its response headers are in) before the cut, so the cut really drops it.
      await expect.poll(() => watchResponses, connectTimeout).toBe(1);

      expect(proxy.cutAll()).toBeGreaterThan(0);
      const answerer = await browser.context.newPage();
      await answerer.goto((await link.getAttribute("href"))!);
      for (const page of [offerer, answerer]) {
        await page.locator('#status[data-state="connected"]').waitFor(connectTimeout);
      }
      await chat(answerer, offerer, "made it through a cut connection");
      // The resumed stream asked for the changes after the last version it had seen, not for a new snapshot.
      expect(watchRequests.length).toBeGreaterThanOrEqual(2);
      expect(watchRequests[1]!.afterVersion).toBeGreaterThanOrEqual(watchRequests[0]!.afterVersion!);
      await Promise.all([offerer.close(), answerer.close()]);
    } finally {
      await proxy.close();
    }
  }, 90_000);

  it("tells the person opening a link to a channel that does not exist", async () => {
    const api = await apiAllowing(demoServer.url);
    const page = await openDemo(new URLSearchParams({ api: api.url, channel: crypto.randomUUID() }).toString());
    await page.locator('#status[data-state="failed"]').waitFor(connectTimeout);
    expect(await page.locator("#status").textContent()).toMatch(/Could not start: .*not found: it never existed, has expired or was closed/);
    await page.close();
  }, 60_000);

  it("cannot reach an API that does not allow the page's origin", async () => {
    const calls: string[] = [];
    const api = await apiAllowing("http://other-app.example.test", createLogger("debug", (line) => calls.push(line)));
    const page = await openDemo(new URLSearchParams({ api: api.url }).toString());
    await page.locator('#status[data-state="failed"]').waitFor(connectTimeout);
    expect(await page.locator("#status").textContent()).toMatch(/Could not start/);
    // The browser stopped at the preflight: CreateChannel never reached the service.
    expect(calls.filter((line) => line.includes("CreateChannel"))).toEqual([]);
    await page.close();
  }, 60_000);

  it("refuses an ?api= the demo server does not allow (--demo-api-origins): nothing is sent there", async () => {
    const calls: string[] = [];
    // This API would serve the page (CORS allows it), but it is not among the origins the demo may use.
    const api = await startTestServer({ demo: false, corsAllowedOrigins: [demoServer.url] }, { logger: createLogger("debug", (line) => calls.push(line)) });
    apis.push(api);
    const page = await openDemo(new URLSearchParams({ api: api.url }).toString());
    await page.locator('#status[data-state="failed"]').waitFor(connectTimeout);
    expect(await page.locator("#status").textContent()).toContain("is not allowed");
    expect(calls.filter((line) => line.includes("/signaling.v1."))).toEqual([]);
    await page.close();
  }, 60_000);
});
