import * as net from "node:net";

/** A loopback TCP proxy whose connections a test can cut, as a flaky network or a restarting proxy would. */
export class TcpProxy {
  private readonly server: net.Server;
  private readonly open = new Set<net.Socket>();
  private readonly upstreams = new Map<net.Socket, net.Socket>();
  private port = 0;
  private silent = false;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = "127.0.0.1",
  ) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.open.add(socket);
        socket.once("close", () => this.open.delete(socket));
        socket.on("error", () => {});
      }
      if (!this.silent) client.pipe(upstream).pipe(client);
      this.upstreams.set(upstream, client);
      upstream.once("close", () => this.upstreams.delete(upstream));
      client.once("close", () => upstream.destroy());
      upstream.once("close", () => client.destroy());
    });
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, "127.0.0.1", resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Cuts every connection open now; returns how many client connections there were. New ones are still accepted. */
  cutAll(): number {
    const sockets = [...this.open];
    for (const socket of sockets) socket.destroy();
    return sockets.length / 2;
  }

  /** A network outage: cuts every connection and refuses new ones until resume(). */
  async pause(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.cutAll();
    await stopped;
  }

  /** Accepts connections again, on the same port. */
  async resume(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, "127.0.0.1", resolve));
  }

  /**
   * A client that stops reading: nothing more is read from the server's side of every connection open
   * now, so the server's writes back up (TCP flow control) once the kernel buffers fill. Requests still
   * pass. `unstall()` reads again.
   */
  stall(): void {
    for (const [upstream, client] of this.upstreams) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  unstall(): void {
    for (const [upstream, client] of this.upstreams) upstream.pipe(client);
  }

  /**
   * A peer that stops answering without closing anything (a frozen host, a
   * network that drops packets): nothing passes either way on the open
   * connections or on new ones, which are still accepted. `speak()` ends it.
   */
  silence(): void {
    this.silent = true;
    for (const [upstream, client] of this.upstreams) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  speak(): void {
    this.silent = false;
    for (const [upstream, client] of this.upstreams) client.pipe(upstream).pipe(client);
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
