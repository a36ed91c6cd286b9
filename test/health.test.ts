import { createClient, Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/health/v1/health_pb.js";
import { SignalingService } from "../gen/signaling/v1/signaling_pb.js";
import { RoomService } from "../gen/signaling/v1/room_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { HealthStatus, livenessService } from "../src/server/health/health-status.js";
import { startTestServer, transportFor } from "./support/test-server.js";

const signaling = SignalingService.typeName;

function healthClient(server: RunningServer) {
  return createClient(Health, transportFor("grpc", server.url));
}

/** Statuses a Watch stream sends, read one at a time. */
function watch(server: RunningServer, service: string) {
  const controller = new AbortController();
  const stream = healthClient(server).watch({ service }, { signal: controller.signal })[Symbol.asyncIterator]();
  return {
    async next(): Promise<Status> {
      const { value, done } = await stream.next();
      if (done) throw new Error("the Watch stream ended");
      return value.status;
    },
    cancel: () => controller.abort(),
  };
}

async function codeOf(promise: Promise<unknown>): Promise<Code | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

describe("grpc.health.v1.Health", () => {
  let server: RunningServer | undefined;
  afterEach(() => server?.shutdown(0));

  it("reports the server, the signaling and the room service SERVING, and an unknown service NOT_FOUND", async () => {
    server = await startTestServer();
    const client = healthClient(server);
    expect((await client.check({})).status).toBe(Status.SERVING);
    expect((await client.check({ service: signaling })).status).toBe(Status.SERVING);
    expect((await client.check({ service: RoomService.typeName })).status).toBe(Status.SERVING);
    expect(await codeOf(client.check({ service: "no.such.Service" }))).toBe(Code.NotFound);
    const listed = await client.list({});
    expect(Object.fromEntries(Object.entries(listed.statuses).map(([k, v]) => [k, v.status]))).toEqual({
      "": Status.SERVING,
      [signaling]: Status.SERVING,
      [RoomService.typeName]: Status.SERVING,
      [livenessService]: Status.SERVING,
    });
  });

  it("keeps `liveness` SERVING while a store is unreachable (readiness fails, liveness does not), until the server drains", async () => {
    server = await startTestServer();
    const client = healthClient(server);
    server.health.setServing(signaling, false);
    expect((await client.check({})).status).toBe(Status.NOT_SERVING);
    expect((await client.check({ service: livenessService })).status).toBe(Status.SERVING);
    server.health.drain();
    expect((await client.check({ service: livenessService })).status).toBe(Status.NOT_SERVING);
  });

  it("reports NOT_SERVING for a service the app marks unavailable, and for the whole server, until it is back", async () => {
    server = await startTestServer();
    const client = healthClient(server);
    server.health.setServing(signaling, false);
    expect((await client.check({ service: signaling })).status).toBe(Status.NOT_SERVING);
    expect((await client.check({})).status).toBe(Status.NOT_SERVING);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(503);
    server.health.setServing(signaling, true);
    expect((await client.check({})).status).toBe(Status.SERVING);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("streams every change of status through Watch", async () => {
    server = await startTestServer();
    const stream = watch(server, signaling);
    expect(await stream.next()).toBe(Status.SERVING);
    server.health.setServing(signaling, false);
    expect(await stream.next()).toBe(Status.NOT_SERVING);
    server.health.setServing(signaling, true);
    expect(await stream.next()).toBe(Status.SERVING);
    stream.cancel();
  });

  it("answers Watch of an unknown service with SERVICE_UNKNOWN and keeps the stream open", async () => {
    server = await startTestServer();
    const stream = watch(server, "no.such.Service");
    expect(await stream.next()).toBe(Status.SERVICE_UNKNOWN);
    expect((await healthClient(server).check({})).status).toBe(Status.SERVING);
    stream.cancel();
  });

  it("turns NOT_SERVING on a Watch stream as soon as the server starts draining", async () => {
    server = await startTestServer();
    const stream = watch(server, "");
    expect(await stream.next()).toBe(Status.SERVING);
    const stopped = server.shutdown(1000);
    expect(await stream.next()).toBe(Status.NOT_SERVING);
    expect(await codeOf(stream.next())).toBe(Code.Unavailable);
    await stopped;
  });

  it("refuses Watch streams past max-health-watch-streams with RESOURCE_EXHAUSTED", async () => {
    server = await startTestServer({ maxHealthWatchStreams: 1 });
    const first = watch(server, "");
    expect(await first.next()).toBe(Status.SERVING);
    expect(await codeOf(watch(server, "").next())).toBe(Code.ResourceExhausted);
    first.cancel();
  });
});

describe("HealthStatus", () => {
  it("stays NOT_SERVING once draining, whatever a service reports later", () => {
    const status = new HealthStatus([signaling]);
    status.drain();
    status.setServing(signaling, true);
    expect(status.get(signaling)).toBe(Status.NOT_SERVING);
    expect(status.get("")).toBe(Status.NOT_SERVING);
  });

  it("refuses a status for a service it does not report on", () => {
    expect(() => new HealthStatus([signaling]).setServing("no.such.Service", false)).toThrow(/unknown service/);
  });
});
