import type { Client, Transport } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { SignalingService } from "../../gen/signaling/v1/signaling_pb.js";

/** The protocols a browser can speak to Switchboard (browsers cannot speak plain gRPC). */
export type BrowserProtocol = "connect" | "grpc-web";

export type SignalingClient = Client<typeof SignalingService>;

export interface ClientOptions {
  /** Where the API is, e.g. "https://signal.example.com". Another origin needs it in the server's --cors-allowed-origins. */
  readonly baseUrl: string;
  /** Default "connect" (JSON, readable in the browser's network tab); "grpc-web" sends binary gRPC-Web. */
  readonly protocol?: BrowserProtocol;
}

/** LeaveRoom goes out with keepalive, so a leave() from a pagehide handler still reaches the server as the page goes. */
const fetchKeepingLeaves: typeof fetch = (input, init) =>
  globalThis.fetch(input, String(input).endsWith("/signaling.v1.RoomService/LeaveRoom") ? { ...init, keepalive: true } : init);

/** A fetch-based transport for the browser. */
export function createSignalingTransport(options: ClientOptions): Transport {
  const { baseUrl, protocol = "connect" } = options;
  const settings = { baseUrl, fetch: fetchKeepingLeaves };
  return protocol === "grpc-web" ? createGrpcWebTransport(settings) : createConnectTransport(settings);
}

/** The transport the options describe, or the given one. */
export function transportOf(options: ClientOptions | Transport): Transport {
  return "baseUrl" in options ? createSignalingTransport(options) : options;
}

/** A typed client of SignalingService, from options or from a transport of your own. */
export function createSignalingClient(options: ClientOptions | Transport): SignalingClient {
  return createClient(SignalingService, transportOf(options));
}
