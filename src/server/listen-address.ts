import { networkInterfaces } from "node:os";

export interface ListenAddress {
  /** What the socket is bound to, host:port (`0.0.0.0:8080` when listening on every IPv4 address). */
  readonly address: string;
  /** A URL that reaches the server from this machine: loopback when bound to every address. */
  readonly url: string;
  /** Every URL it answers at: for a wildcard bind, loopback and each address of the machine's interfaces. */
  readonly urls: readonly string[];
}

const wildcards = new Set(["0.0.0.0", "::"]);

/** The bound address and the URLs a person or a client can use to reach it. */
export function listenAddress(host: string, port: number): ListenAddress {
  const hostPort = (h: string) => `${h.includes(":") ? `[${h}]` : h}:${port}`;
  const address = hostPort(host);
  if (!wildcards.has(host)) return { address, url: `http://${address}`, urls: [`http://${address}`] };
  // "::" also accepts IPv4 (dual stack), so loopback IPv4 reaches it either way.
  const interfaceAddresses = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && !i.internal && (host === "::" || i.family === "IPv4"))
    .filter((i) => !(i!.family === "IPv6" && i!.address.startsWith("fe80:")))
    .map((i) => `http://${hostPort(i!.address)}`);
  const url = `http://${hostPort("127.0.0.1")}`;
  return { address, url, urls: [url, ...interfaceAddresses] };
}
