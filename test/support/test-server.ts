import type { Client, Interceptor, Transport } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { RoomService } from "../../gen/signaling/v1/room_pb.js";
import { SignalingService } from "../../gen/signaling/v1/signaling_pb.js";
import type { Config } from "../../src/server/config.js";
import { defaultConfig } from "../../src/server/config.js";
import type { RunningServer, ServerOptions } from "../../src/server/app.js";
import { startServer } from "../../src/server/app.js";
import type { SignalingLimits } from "../../src/service/limits.js";
import type { StoreLimits } from "../../src/store/store.js";

export type Protocol = "connect" | "grpc" | "grpc-web";
export const protocols: readonly Protocol[] = ["connect", "grpc", "grpc-web"];

export interface ConfigOverrides extends Partial<Omit<Config, "limits" | "rooms" | "connections">> {
  readonly connections?: Partial<Config["connections"]>;
  readonly limits?: Partial<SignalingLimits & StoreLimits>;
  readonly rooms?: Partial<Config["rooms"]>;
}

/**
 * Which route serves RPCs in this test run: vitest.config.ts runs the
 * protocol suites a second time with SWITCHBOARD_TEST_LEAN_PATH=off.
 */
export const leanPathUnderTest = process.env["SWITCHBOARD_TEST_LEAN_PATH"] !== "off";

/** Rate limits off: most suites call far faster than one client may; test/rate-limit.test.ts sets its own. */
export const noRateLimits: Config["rateLimits"] = {
  rates: { create: undefined, write: undefined, read: undefined, stream: undefined },
  maxClients: 1,
};

/** A real server on a free loopback port, with the built-in defaults (rate limits off) plus `overrides`. */
export async function startTestServer(overrides: ConfigOverrides = {}, options: ServerOptions = {}): Promise<RunningServer> {
  const base = defaultConfig();
  const config: Config = {
    ...base,
    host: "127.0.0.1",
    port: 0,
    leanPath: leanPathUnderTest,
    rateLimits: noRateLimits,
    ...overrides,
    limits: { ...base.limits, ...overrides.limits },
    rooms: { ...base.rooms, ...overrides.rooms },
    connections: { ...base.connections, ...overrides.connections },
  };
  return startServer(config, options);
}

/**
 * A client transport of each protocol, as a user would build it:
 * Connect over HTTP/1.1, gRPC over HTTP/2 (h2c), gRPC-Web over HTTP/1.1.
 */
export function transportFor(protocol: Protocol, baseUrl: string, interceptors: Interceptor[] = []): Transport {
  switch (protocol) {
    case "connect":
      return createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors });
    case "grpc":
      return createGrpcTransport({ baseUrl, interceptors });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors });
  }
}

export function signalingClient(protocol: Protocol, baseUrl: string, interceptors: Interceptor[] = []): Client<typeof SignalingService> {
  return createClient(SignalingService, transportFor(protocol, baseUrl, interceptors));
}

export function roomClient(protocol: Protocol, baseUrl: string): Client<typeof RoomService> {
  return createClient(RoomService, transportFor(protocol, baseUrl));
}
