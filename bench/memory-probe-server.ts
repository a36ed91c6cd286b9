/**
 * A server under test that reports its own memory, for bench/idle-memory.ts:
 * Switchboard (memory store) or the bare stack of bench/ceiling-server.ts,
 * in a child process started with --expose-gc and an IPC channel. Messages:
 * "mem" → {mem: process.memoryUsage() after three GCs}; "snap" → {snap: path
 * of a heap snapshot written after a GC}.
 * Usage (forked): memory-probe-server.js switchboard|switchboard-connect-node|ceiling|bare-http2
 */
import { tmpdir } from "node:os";
import * as path from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { startServer } from "../src/server/app.js";
import { loadConfig } from "../src/server/config.js";
import { listenBareHttp2 } from "./bare-http2-server.js";
import { listenCeiling } from "./ceiling-server.js";
import { unlimitedClientArgs } from "./servers.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !process.send) throw new Error("fork me with --expose-gc and an IPC channel");
const send = process.send.bind(process);

async function listen(kind: string): Promise<number> {
  if (kind === "ceiling") return listenCeiling(0);
  if (kind === "bare-http2") return listenBareHttp2(0);
  // "switchboard-connect-node": every call through connect-node's adapter (--lean-path off).
  const route = kind === "switchboard-connect-node" ? ["--lean-path", "off"] : [];
  const loaded = loadConfig(["--host", "127.0.0.1", "--port", "0", "--log-level", "warn", "--max-watch-streams", "100000", ...unlimitedClientArgs, ...route], {});
  if (loaded.help) throw new Error("unexpected --help");
  return (await startServer(loaded.config)).port;
}

send({ port: await listen(process.argv[2] ?? "switchboard") });
process.on("message", async (message) => {
  if (message === "mem") {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    send({ mem: process.memoryUsage() });
  } else if (message === "snap") {
    gc();
    send({ snap: writeHeapSnapshot(path.join(tmpdir(), `switchboard-${process.argv[2]}-${Date.now()}.heapsnapshot`)) });
  }
});
