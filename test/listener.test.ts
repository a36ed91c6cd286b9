import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DualProtocolListener } from "../src/server/listener.js";

let listener: DualProtocolListener | undefined;
afterEach(() => {
  listener?.destroyAll();
  listener?.stopAccepting();
  listener = undefined;
});

/** A raw HTTP/1.1 client connection that sent one keep-alive request and read its whole response. */
async function idleKeepAliveConnection(port: number): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write("GET / HTTP/1.1\r\nhost: localhost\r\nconnection: keep-alive\r\n\r\n");
  await new Promise<void>((resolve) => {
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString();
      if (received.endsWith("\r\n\r\nok")) resolve();
    });
  });
  return socket;
}

describe("DualProtocolListener", () => {
  it("closes an idle keep-alive HTTP/1.1 connection as soon as the server stops, rather than waiting it out", async () => {
    listener = new DualProtocolListener((_req, res) => {
      (res as import("node:http").ServerResponse).writeHead(200, { "content-length": "2" });
      res.end("ok");
    });
    // Longer than the test may run, so only the stop can end the connection.
    listener.http1.keepAliveTimeout = 10 * 60_000;
    const port = await listener.listen(0, "127.0.0.1");
    const socket = await idleKeepAliveConnection(port);
    const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    expect(listener.openConnections).toBe(1);

    listener.stopAccepting();
    // A timeout far beyond the test's own: this resolves only because the idle connection was closed.
    await listener.closed(10 * 60_000);
    await ended;
    expect(listener.openConnections).toBe(0);
  });
});
