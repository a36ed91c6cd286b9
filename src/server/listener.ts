import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Socket } from "node:net";

const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** How long a new connection may take to send its first bytes. */
const firstBytesTimeoutMs = 10_000;

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/**
 * One cleartext port for HTTP/1.1 and HTTP/2 (h2c). Node's HTTP/2 server
 * only falls back to HTTP/1.1 over TLS, so each connection is routed by its
 * first bytes: the HTTP/2 connection preface, or anything else for HTTP/1.1.
 */
export class DualProtocolListener {
  readonly tcp: net.Server;
  readonly http1: http.Server;
  readonly http2: http2.Http2Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<http2.Http2Session>();

  constructor(handler: RequestHandler) {
    this.http1 = http.createServer(handler);
    this.http2 = http2.createServer(handler);
    this.http2.on("session", (session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
    });
    this.tcp = net.createServer((socket) => this.route(socket));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.tcp.once("error", reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off("error", reject);
        // Node's HTTP/1.1 server tracks its connections (idle or busy, header and request timeouts)
        // only from its "listening" event on; it never listens itself here, so tell it the port is open.
        // Without this closeIdleConnections() sees no connection and a stop waits out every keep-alive one.
        this.http1.emit("listening");
        resolve((this.tcp.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops accepting connections and asks open ones to finish: GOAWAY for HTTP/2, close-when-idle for HTTP/1.1. */
  stopAccepting(): void {
    this.tcp.close();
    for (const session of this.sessions) session.close();
    // Closes the idle HTTP/1.1 connections and stops the server's connection-checking timer.
    this.http1.close();
  }

  /**
   * Resolves once every connection has closed on its own (idle HTTP/1.1
   * ones are closed now; HTTP/2 sessions close after their last stream, so
   * final frames reach the client), or after `timeoutMs`.
   */
  closed(timeoutMs: number): Promise<void> {
    this.http1.closeIdleConnections();
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      timer.unref();
      const check = () => {
        if (this.sockets.size === 0) done();
      };
      function done() {
        clearTimeout(timer);
        for (const socket of watched) socket.off("close", check);
        resolve();
      }
      const watched = [...this.sockets];
      for (const socket of watched) socket.once("close", check);
    });
  }

  /** Cuts every connection still open. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  private route(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.setTimeout(firstBytesTimeoutMs, () => socket.destroy());
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const compared = Math.min(received.length, http2Preface.length);
      const looksLikeHttp2 = received.subarray(0, compared).equals(http2Preface.subarray(0, compared));
      if (looksLikeHttp2 && received.length < http2Preface.length) return;
      socket.off("data", onData);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(received);
      if (looksLikeHttp2) {
        // The HTTP/2 session reads the native handle itself and takes the bytes read so far from the buffer.
        this.http2.emit("connection", socket);
      } else {
        this.http1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }
}
