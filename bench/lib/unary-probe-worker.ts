/**
 * A unary probe in its own thread (so the load generator's own work, such as
 * cancelling 20,000 streams in one turn, does not delay it): a CreateChannel
 * call over gRPC every `intervalMs` on one HTTP/2 connection, open loop (sent
 * on schedule whether or not the previous one has been answered, so a stall
 * of the server shows in every call it delays, not in one), each answer or
 * failure posted as { start, ms, ok } (start: performance.timeOrigin-based ms).
 * Stops when told "stop", waits for the calls in flight and posts "stopped".
 */
import { parentPort, workerData } from "node:worker_threads";
import { createClient } from "@connectrpc/connect";
import { SignalingService } from "../../gen/signaling/v1/signaling_pb.js";
import { createLeanGrpcTransport } from "./lean-grpc-transport.js";

const { url, intervalMs } = workerData as { url: string; intervalMs: number };
const client = createClient(SignalingService, createLeanGrpcTransport(url));
const inFlight = new Set<Promise<void>>();
const probe = () => {
  const start = performance.timeOrigin + performance.now();
  const call: Promise<void> = client.createChannel({}).then(
    () => parentPort!.postMessage({ start, ms: performance.timeOrigin + performance.now() - start, ok: true }),
    () => parentPort!.postMessage({ start, ms: performance.timeOrigin + performance.now() - start, ok: false }),
  );
  inFlight.add(call);
  void call.finally(() => inFlight.delete(call));
};
const timer = setInterval(probe, intervalMs);
parentPort!.on("message", async (m) => {
  if (m !== "stop") return;
  clearInterval(timer);
  await Promise.all(inFlight);
  parentPort!.postMessage("stopped");
  process.exit(0);
});
