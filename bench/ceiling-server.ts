/**
 * The "stack ceiling": the same listener (DualProtocolListener, one port for
 * HTTP/1.1 and h2c) and the same Connect-Node adapter as Switchboard, serving
 * SignalingService with handlers that do nothing: CreateChannel returns a
 * constant, WatchChannel sends one message and then waits for the client to
 * leave. What it answers is what the stack allows on this machine.
 * Usage: node ceiling-server.js <port>
 */
import { setMaxListeners } from "node:events";
import { pathToFileURL } from "node:url";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { CreateChannelResponseSchema, SignalingService, WatchChannelResponseSchema } from "../gen/signaling/v1/signaling_pb.js";
import { DualProtocolListener } from "../src/server/listener.js";

const created = create(CreateChannelResponseSchema, {
  channelId: "00000000-0000-4000-8000-000000000000",
  offererToken: "A".repeat(43),
  version: 1,
});
const snapshot = create(WatchChannelResponseSchema, { version: 1, event: { case: "keepAlive", value: {} } });

/** The bare server's request handler (exported for bench/memory-probe-server.ts). */
export const ceilingHandler = connectNodeAdapter({
  routes: (router) =>
    router.service(SignalingService, {
      createChannel: () => created,
      async *watchChannel(_req, ctx) {
        yield snapshot;
        setMaxListeners(0, ctx.signal);
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
      },
    }),
  readMaxBytes: 1024 * 1024,
});

/** Listens on `port` of loopback; resolves with the port. */
export function listenCeiling(port: number): Promise<number> {
  return new DualProtocolListener((req, res) => {
    if (req.url === "/healthz") {
      res.end("ok");
      return;
    }
    ceilingHandler(req, res);
  }).listen(port, "127.0.0.1");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = await listenCeiling(Number(process.argv[2]));
  process.stdout.write(`listening on ${port}\n`);
  process.once("SIGTERM", () => process.exit(0));
}
