import * as net from "node:net";

/** A loopback TCP proxy whose connections a test can cut, as a flaky network or a restarting proxy would. */
export class TcpProxy {
  private readonly server: net.Server;
  private readonly open = new Set<net.Socket>();
  private port = 0;

  constructor(private readonly targetPort: number) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, "127.0.0.1");
      for (const socket of [client, upstream]) {
        this.open.add(socket);
        socket.once("close", () => this.open.delete(socket));
        socket.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
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

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
