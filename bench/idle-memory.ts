/**
 * Where the memory of idle WatchChannel streams goes (the analysis in
 * bench/notes.md): Switchboard or the bare stack in a child process
 * (bench/memory-probe-server.ts), gRPC streams opened as scenario 3 does.
 *
 *   node dist/bench/idle-memory.js switchboard|switchboard-connect-node|ceiling|bare-http2 1000,5000,10000
 *     memory per stream (after GC) at each total, cumulatively
 *   node dist/bench/idle-memory.js switchboard|switchboard-connect-node|ceiling|bare-http2 --snapshot 2000
 *     heap snapshots before and after 2000 streams: bytes and objects per stream, by kind
 */
import { fork } from "node:child_process";
import { setMaxListeners } from "node:events";
import { readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { WatchedChannel } from "./scenarios/idle-streams.js";
import { holdStreams, watched } from "./scenarios/idle-streams.js";
import { commandNodeFlags } from "../src/server/node-flags.js";
import { peerClient } from "./switchboard-exchange.js";

const [kind = "switchboard", arg = "1000,5000,10000", snapshotCount] = process.argv.slice(2);
// Switchboard runs with the command's own Node flags (its young-generation cap), as users start it.
const nodeFlags = kind.startsWith("switchboard") ? commandNodeFlags(fileURLToPath(new URL("../src/server/cli.js", import.meta.url))) : [];
const child = fork(fileURLToPath(new URL("./memory-probe-server.js", import.meta.url)), [kind], { execArgv: ["--expose-gc", ...nodeFlags] });
process.on("exit", () => child.kill());
const reply = <T>(): Promise<T> => new Promise((resolve) => child.once("message", (m) => resolve(m as T)));
const ask = <T>(message: string): Promise<T> => {
  const answer = reply<T>();
  child.send(message);
  return answer;
};

/** Self size and count of every object kind in a V8 heap snapshot. */
function heapKinds(file: string): Map<string, { count: number; bytes: number }> {
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; location_fields?: string[] } };
    nodes: number[];
    strings: string[];
    locations?: number[];
  };
  // Closures are told apart by where their function is (script id and line), as far as the snapshot says.
  const where = new Map<number, string>();
  const locationFields = snapshot.snapshot.meta.location_fields ?? [];
  if (snapshot.locations && locationFields.length > 0) {
    const [objectAt, scriptAt, lineAt] = ["object_index", "script_id", "line"].map((f) => locationFields.indexOf(f)) as [number, number, number];
    for (let i = 0; i < snapshot.locations.length; i += locationFields.length) {
      where.set(snapshot.locations[i + objectAt]!, `@${snapshot.locations[i + scriptAt]}:${snapshot.locations[i + lineAt]! + 1}`);
    }
  }
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [number, number, number];
  const kinds = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const name = snapshot.strings[snapshot.nodes[i + nameAt]!]!;
    const key =
      type === "closure"
        ? `closure ${name.slice(0, 40)} ${where.get(i) ?? ""}`
        : type === "object" || type === "native"
          ? `${type} ${name.slice(0, 50)}`
          : `(${type})`;
    const k = kinds.get(key) ?? { count: 0, bytes: 0 };
    k.count++;
    k.bytes += snapshot.nodes[i + sizeAt]!;
    kinds.set(key, k);
  }
  return kinds;
}

const { port } = await reply<{ port: number }>();
const url = `http://127.0.0.1:${port}`;
const stop = new AbortController();
setMaxListeners(0, stop.signal);
const counts = snapshotCount ? [Number(snapshotCount)] : arg.split(",").map(Number);
const most = Math.max(...counts);
const creator = peerClient("grpc", url);
const channelIds: WatchedChannel[] = [];
for (let i = 0; i < most / 2; i += 200) {
  channelIds.push(...(await Promise.all(Array.from({ length: Math.min(200, most / 2 - i) }, async () => watched(await creator.createChannel({}))))));
}
const kib = (bytes: number) => (bytes / 1024).toFixed(2);
if (snapshotCount) {
  const before = (await ask<{ snap: string }>("snap")).snap;
  await holdStreams(url, channelIds, most, stop.signal, () => {});
  const after = (await ask<{ snap: string }>("snap")).snap;
  const [a, b] = [heapKinds(before), heapKinds(after)];
  const rows = [...b].map(([key, v]) => ({ key, bytes: (v.bytes - (a.get(key)?.bytes ?? 0)) / most, count: (v.count - (a.get(key)?.count ?? 0)) / most }));
  rows.sort((x, y) => y.bytes - x.bytes);
  process.stdout.write(`${kind}: ${Math.round(rows.reduce((sum, r) => sum + r.bytes, 0))} bytes per stream (heap snapshot diff, ${most} streams)\n`);
  for (const r of rows.slice(0, 60)) process.stdout.write(`${r.bytes.toFixed(0).padStart(7)} B ${r.count.toFixed(2).padStart(7)} × ${r.key}\n`);
  if (process.env["KEEP_SNAPSHOTS"]) process.stdout.write(`snapshots kept: ${before} ${after}\n`);
  else {
    rmSync(before);
    rmSync(after);
  }
} else {
  const base = (await ask<{ mem: NodeJS.MemoryUsage }>("mem")).mem;
  process.stdout.write(`${kind}: baseline RSS ${kib(base.rss / 1024)} MiB, heapUsed ${kib(base.heapUsed / 1024)} MiB\n`);
  let open = 0;
  for (const n of counts) {
    await holdStreams(url, channelIds, n - open, stop.signal, () => {});
    open = n;
    const m = (await ask<{ mem: NodeJS.MemoryUsage }>("mem")).mem;
    const per = (k: keyof NodeJS.MemoryUsage) => kib((m[k] - base[k]) / n);
    process.stdout.write(`${n} streams: per stream RSS ${per("rss")} KiB, heapUsed ${per("heapUsed")} KiB, heapTotal ${per("heapTotal")} KiB, external ${per("external")} KiB\n`);
  }
}
stop.abort();
child.kill();
process.exit(0);
