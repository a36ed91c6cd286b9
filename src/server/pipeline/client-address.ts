import type * as http from "node:http";
import * as http2 from "node:http2";
import { BlockList, isIP } from "node:net";
import type { Socket } from "node:net";
import type { ContextKey, ContextValues } from "@connectrpc/connect";
import { clientAddressKey } from "../../service/call-context.js";
import { abandonStreamKey } from "../../service/stream-queue.js";
import { protocolIndex, protocolKey } from "./protocol.js";

export { clientAddressKey };

/**
 * What the client's address and a stream's abandonment are read from: Node's request objects, and the
 * lean path's exchanges (an HTTP/2 stream served directly), have it.
 */
export interface ClientRequest {
  readonly headers: http.IncomingHttpHeaders;
  /** The connection; undefined once an HTTP/2 stream has let go of its session. */
  readonly socket?: Socket | undefined;
  /** The HTTP/2 stream, when the request came as one. */
  readonly stream?: http2.Http2Stream | undefined;
}

/** Resolves a request's client address. */
export type ClientAddressResolver = (req: ClientRequest) => string;

/** The TCP peer's address, IPv4-mapped IPv6 written as IPv4. */
export const peerAddress: ClientAddressResolver = (req) => plainAddress(req.socket?.remoteAddress) ?? "unknown";

/** The request headers that name the client behind a proxy. */
export type ClientAddressHeader = "x-forwarded-for" | "forwarded";
export const clientAddressHeaders: readonly ClientAddressHeader[] = ["x-forwarded-for", "forwarded"];

export interface TrustedProxySettings {
  /** Addresses and CIDR ranges (`10.0.0.0/8`, `::1`) of the proxies whose header is believed. Empty: none. */
  readonly trustedProxies: readonly string[];
  /** Which header those proxies write. */
  readonly header: ClientAddressHeader;
}

/**
 * The client address behind trusted proxies: when the TCP peer is a trusted
 * proxy, the header's entries are read from the right (each proxy appends
 * the address it saw), skipping trusted proxies; the first other address is
 * the client. A header from any other peer is ignored (anyone can write
 * one), and so is an entry that is not an IP address (obfuscated or
 * `unknown`): the last trusted hop then stands for the client.
 */
export function clientAddressResolver(settings: TrustedProxySettings): ClientAddressResolver {
  if (settings.trustedProxies.length === 0) return peerAddress;
  const isTrusted = trustedProxyCheck(settings.trustedProxies);
  const entriesOf = settings.header === "forwarded" ? forwardedFor : forwardedList;
  return (req) => {
    let address = peerAddress(req);
    if (address === "unknown" || !isTrusted(address)) return address;
    const header = req.headers[settings.header];
    const entries = entriesOf(Array.isArray(header) ? header.join(",") : (header ?? ""));
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = plainAddress(entries[i]);
      if (entry === undefined) break;
      address = entry;
      if (!isTrusted(entry)) break;
    }
    return address;
  };
}

/** Whether an address (a TCP peer or a header entry) is one of the trusted proxies; false for anything not an IP address. */
export function trustedProxyCheck(trustedProxies: readonly string[]): (address: string) => boolean {
  if (trustedProxies.length === 0) return () => false;
  const trusted = blockListOf(trustedProxies);
  return (address) => {
    const plain = plainAddress(address);
    return plain !== undefined && trusted.check(plain, isIP(plain) === 6 ? "ipv6" : "ipv4");
  };
}

/**
 * The context values every call starts with, whichever route serves it
 * (connect-node's adapter or a lean path): the pipeline's interceptors read them.
 */
export function callContextValues(
  resolveAddress: ClientAddressResolver,
): (req: ClientRequest) => ContextValues {
  return (req) => {
    const contentType = req.headers["content-type"];
    return new CallValues()
      .set(clientAddressKey, resolveAddress(req))
      .set(protocolKey, protocolIndex(contentType === undefined ? null : contentType))
      .set(abandonStreamKey, () => abandonTransport(req));
  };
}

/**
 * connect-es's createContextValues as a class: its object literal makes three closures per call (get, set,
 * delete), held for as long as a stream is open. Same semantics: values are own properties keyed by the key's id.
 */
class CallValues implements ContextValues {
  get<T>(key: ContextKey<T>): T {
    return key.id in this ? ((this as Record<symbol, unknown>)[key.id] as T) : key.defaultValue;
  }

  set<T>(key: ContextKey<T>, value: T): this {
    (this as Record<symbol, unknown>)[key.id] = value;
    return this;
  }

  delete(key: ContextKey<unknown>): this {
    delete (this as Record<symbol, unknown>)[key.id];
    return this;
  }
}

/**
 * Cuts the request's stream if the client has not read all of it: RST_STREAM ENHANCE_YOUR_CALM on HTTP/2 (read as
 * RESOURCE_EXHAUSTED by clients) unless the stream has closed, on HTTP/1.1 the connection while it still holds
 * bytes the client has not taken (once it holds none, it may be serving the client's next request).
 */
function abandonTransport(req: ClientRequest): void {
  const stream = req.stream;
  if (stream !== undefined) {
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  } else if (req.socket !== undefined && req.socket.writableLength > 0) req.socket.destroy();
}

/** Parses `--trusted-proxies`: comma-separated IP addresses and CIDR ranges. */
export function parseTrustedProxies(text: string): readonly string[] {
  const entries = text.split(",").map((e) => e.trim()).filter((e) => e !== "");
  const bad = entries.filter((entry) => {
    try {
      blockListOf([entry]);
      return false;
    } catch {
      return true;
    }
  });
  if (bad.length > 0) throw new Error(`not IP addresses or CIDR ranges (e.g. 10.0.0.0/8, ::1): ${bad.join(", ")}`);
  return entries;
}

function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", prefix, ...rest] = entry.split("/");
    const family = isIP(address);
    if (family === 0 || rest.length > 0) throw new Error(`not an address: ${entry}`);
    const type = family === 6 ? "ipv6" : "ipv4";
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const bits = Number(prefix);
    if (!/^\d+$/.test(prefix) || bits > (family === 6 ? 128 : 32)) throw new Error(`bad prefix length: ${entry}`);
    list.addSubnet(address, bits, type);
  }
  return list;
}

/** `X-Forwarded-For: client, proxy1, proxy2`. */
function forwardedList(value: string): string[] {
  return value.split(",").map((e) => e.trim());
}

/** The `for=` of each element of RFC 7239 `Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"`. */
function forwardedFor(value: string): string[] {
  return value.split(",").map((element) => {
    const pair = element.split(";").map((p) => p.trim()).find((p) => p.toLowerCase().startsWith("for="));
    if (!pair) return "";
    const node = pair.slice(4).replace(/^"(.*)"$/, "$1");
    const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(node);
    if (bracketed) return bracketed[1]!;
    return node.replace(/^([^:]+):\d+$/, "$1");
  });
}

/** An IP address as text, IPv4-mapped IPv6 as IPv4; undefined when `text` is not one. */
function plainAddress(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  const address = mapped ? mapped[1]! : text;
  return isIP(address) === 0 ? undefined : address;
}
