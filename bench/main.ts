/**
 * `npm run bench [-- options]`: the benchmark harness. See docs/benchmarks.md
 * for what it measures; `--help` for the options.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type { Timing } from "./lib/load.js";
import { pinSelf } from "./lib/processes.js";
import { renderReport } from "./report.js";
import type { BenchResults } from "./results.js";
import { evaluateTargets, harnessProblems, headlineGrpc, ratios } from "./results.js";
import { allSeries, sideBySide } from "./scenarios/exchanges.js";
import { startMongoBackend } from "./mongo-backend.js";
import { ceiling } from "./scenarios/ceiling.js";
import { growth } from "./scenarios/growth.js";
import { idleStreamsWithFloor } from "./scenarios/idle-streams.js";
import { massCancel } from "./scenarios/mass-cancel.js";
import { perCall } from "./scenarios/per-call.js";
import { pushLatency } from "./scenarios/push-latency.js";
import type { SwitchboardOptions } from "./servers.js";
import { loadCore, serverCore } from "./servers.js";

/** Whether `program` is on PATH. */
const onPath = (program: string) => (process.env["PATH"] ?? "").split(":").some((dir) => dir !== "" && existsSync(path.join(dir, program)));

const scenarioNames = ["exchanges", "peerjs", "latency", "idle", "growth", "ceiling", "per-call", "mass-cancel", "mongodb"] as const;
type Scenario = (typeof scenarioNames)[number];

interface Plan {
  readonly timing: Timing;
  readonly concurrencies: readonly number[];
  readonly idleStreams: number;
  readonly idleMs: number;
  readonly growthLevels: readonly number[];
  /** Pairs in the growth scenario (the target is stated for 64). */
  readonly growthPairs: number;
  /** Scenario 8: watch streams opened, then cancelled at once. */
  readonly massCancelStreams: number;
  /** Scenario 7: seconds of h2load per cell, and interleaved repetitions. */
  readonly perCall: { readonly seconds: number; readonly repetitions: number };
}

const full: Plan = {
  timing: { warmupMs: 2000, roundMs: 4000, rounds: 5 },
  concurrencies: [1, 16, 64],
  idleStreams: 10_000,
  idleMs: 20_000,
  growthLevels: [1_000, 10_000, 100_000],
  growthPairs: 64,
  massCancelStreams: 20_000,
  perCall: { seconds: 3, repetitions: 4 },
};

const quick: Plan = {
  timing: { warmupMs: 300, roundMs: 1000, rounds: 2 },
  concurrencies: [1, 16, 64],
  idleStreams: 1_000,
  idleMs: 1_000,
  growthLevels: [500, 2_000],
  growthPairs: 16,
  massCancelStreams: 2_000,
  perCall: { seconds: 1, repetitions: 1 },
};

const help = `Usage: npm run bench -- [options]

  --quick               Smoke run (under two minutes): 1 s rounds, 1,000 idle streams, 2,000 mass-cancelled streams, growth to 2,000 channels with 16 pairs,
                        no MongoDB rows (unless --only mongodb).
  --out <dir>           Where benchmarks.md and benchmarks.json go (default: docs/ for a full run, a temporary directory for --quick).
  --store <name>        The server's --store (default: memory). mongodb: against MONGODB_URI, else a FerretDB started here
                        (scripts/provision-ferretdb.sh installs it). Extra store settings: --server-arg or SWITCHBOARD_* variables.
  --server-arg <arg>    One more argument for the Switchboard server (repeatable), e.g. --server-arg=--mongodb-uri=...
  --only <scenario>     Run only these scenarios (repeatable): ${scenarioNames.join(", ")}.
  --pairs <list>        Concurrent pairs to measure, e.g. 1,16,64 (the default).
  --round-ms <ms>       Length of one measured round.
  --mongodb-backends <list>  FerretDB backends of the mongodb scenario, in order, e.g. pg,sqlite (default: the one the tests pick:
                        pg when scripts/provision-postgres.sh's PostgreSQL answers, else sqlite; FERRETDB_BACKEND forces it).
  --cpu-prof <dir>      Write V8 CPU profiles of every Switchboard server process into <dir>.
  --render <json>       Measure nothing: write the report again from a benchmarks.json (after editing the notes).
  --merge-mongodb <json>  With --render: first put the MongoDB rows of that run (an --only mongodb run's benchmarks.json) into <json>.
  --notes <file>        Markdown appended to the report (default: bench/notes.md when it exists).
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      out: { type: "string" },
      store: { type: "string", default: "memory" },
      "server-arg": { type: "string", multiple: true },
      only: { type: "string", multiple: true },
      "cpu-prof": { type: "string" },
      notes: { type: "string" },
      pairs: { type: "string" },
      render: { type: "string" },
      "round-ms": { type: "string" },
      "mongodb-backends": { type: "string" },
      "merge-mongodb": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(help);
    return;
  }
  const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
  const readNotes = () => {
    try {
      return readFileSync(values.notes ?? path.join(repoRoot, "bench/notes.md"), "utf8");
    } catch {
      return "";
    }
  };
  if (values.render) {
    const saved = JSON.parse(readFileSync(values.render, "utf8")) as BenchResults;
    if (values["merge-mongodb"]) {
      // The MongoDB rows of another run (--only mongodb), in place of this report's, saying when they were measured.
      const other = JSON.parse(readFileSync(values["merge-mongodb"], "utf8")) as BenchResults;
      const measured = `${other.meta.date}, \`${other.meta.command}\`, load average ${other.meta.loadAverageStart[0]} → ${other.meta.loadAverageEnd[0]}`;
      const rows = (other.mongodbBackends ?? (other.mongodb ? [other.mongodb] : [])).map((m) => ({ ...m, measured }));
      if (rows.length === 0) throw new Error(`--merge-mongodb: ${values["merge-mongodb"]} has no MongoDB rows`);
      Object.assign(saved, { mongodb: rows[0], mongodbBackends: rows, mongodbMemoryBaseline: other.mongodbMemoryBaseline });
      writeFileSync(values.render, `${JSON.stringify(saved, null, 2)}\n`);
    }
    const dir = path.resolve(values.out ?? path.dirname(values.render));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "benchmarks.md"), renderReport(saved, readNotes()));
    return;
  }
  // The MongoDB rows take a while: a quick run has them only when asked for.
  const only = (values.only ?? scenarioNames.filter((s) => s !== "mongodb" || values.quick !== true)) as Scenario[];
  for (const name of only) {
    if (!scenarioNames.includes(name)) throw new Error(`--only: unknown scenario "${name}"; pick from ${scenarioNames.join(", ")}`);
  }
  const isQuick = values.quick === true;
  const base = isQuick ? quick : full;
  const plan: Plan = {
    ...base,
    ...(values.pairs && { concurrencies: values.pairs.split(",").map(Number) }),
    ...(values["round-ms"] && { timing: { ...base.timing, roundMs: Number(values["round-ms"]) } }),
  };
  const repo = repoRoot;
  const out = path.resolve(values.out ?? (isQuick ? path.join(os.tmpdir(), "switchboard-bench-quick") : path.join(repo, "docs")));
  let server: SwitchboardOptions = {
    store: values.store,
    args: values["server-arg"] ?? [],
    ...(values["cpu-prof"] && { cpuProfileDir: path.resolve(values["cpu-prof"]) }),
  };

  pinSelf(loadCore);
  const storeBackend =
    server.store === "mongodb" && !server.args?.some((a) => a.startsWith("--mongodb-uri")) ? await startMongoBackend(repo) : undefined;
  if (storeBackend && "missing" in storeBackend) throw new Error(`--store mongodb: ${storeBackend.missing}`);
  if (storeBackend) server = { ...server, args: [...(server.args ?? []), ...storeBackend.args] };
  const started = Date.now();
  const loadAverageStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const log = (msg: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
      quick: isQuick,
      store: server.store,
      ...(storeBackend && { storeBackend: storeBackend.label }),
      node: process.version,
      os: `${os.type()} ${os.release()}`,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      cores: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      serverCore,
      loadCore,
      peerVersion: (JSON.parse(readFileSync(path.join(repo, "node_modules/peer/package.json"), "utf8")) as { version: string }).version,
      timing: plan.timing,
      loadAverageStart,
      loadAverageEnd: [],
      noisy: loadAverageStart[0]! > 0.5,
      durationSeconds: 0,
    },
    targets: [],
    ratios: [],
    exchanges: [],
    growth: [],
    pending: [],
  };

  const withSwitchboard = only.includes("exchanges") || only.includes("latency");
  if (withSwitchboard || only.includes("peerjs")) {
    log(`scenarios 1 and 5: exchanges at ${plan.concurrencies.join("/")} pairs (${withSwitchboard ? "Switchboard gRPC and Connect" : ""}${withSwitchboard && only.includes("peerjs") ? ", " : ""}${only.includes("peerjs") ? "PeerJS" : ""})`);
    const rates = await sideBySide(plan.concurrencies, plan.timing, server, { switchboard: withSwitchboard, peerjs: only.includes("peerjs") });
    results.exchanges = rates.switchboard;
    if (rates.peerjs) results.peerjs = rates.peerjs;
  }
  if (only.includes("latency")) {
    const grpc = headlineGrpc(results)!;
    const peak = Math.max(...grpc.map((r) => r.ratePerSec));
    log(`scenario 2: push latency at half of ${peak} exchanges/s`);
    results.pushLatency = await pushLatency(peak, plan.timing, server);
  }
  if (only.includes("idle")) {
    log(`scenario 3: ${plan.idleStreams} idle watch streams`);
    results.idleStreams = await idleStreamsWithFloor(plan.idleStreams, plan.idleMs, plan.timing, server);
  }
  if (only.includes("growth")) {
    log(`scenario 4: growth at ${plan.growthLevels.join("/")} live channels, ${plan.growthPairs} pairs`);
    results.growth = await growth(plan.growthLevels, plan.growthPairs, plan.timing, server);
  }

  if (only.includes("ceiling")) {
    // At the highest concurrency only: the one the targets are stated for.
    const callers = [Math.max(...plan.concurrencies)];
    log(`scenario 6: the stack ceiling (bare Connect-Node server) at ${callers[0]} callers, ${plan.idleStreams} idle streams`);
    results.ceiling = await ceiling(callers, plan.timing, only.includes("idle") ? plan.idleStreams : 0, server);
  }

  if (only.includes("per-call") && !onPath("h2load")) {
    results.pending.push("Scenario 7 (cost per call): h2load is not installed; run scripts/provision-h2load.sh (apt's nghttp2-client).");
  } else if (only.includes("per-call")) {
    log(`scenario 7: cost per call under h2load, ${plan.perCall.seconds} s per cell, ${plan.perCall.repetitions} repetition(s)`);
    results.perCall = await perCall(plan.perCall.seconds, plan.perCall.repetitions, log);
  }

  if (only.includes("mass-cancel")) {
    log(`scenario 8: ${plan.massCancelStreams} watch streams cancelled at once, both routes, RST and connection drop`);
    results.massCancel = await massCancel(plan.massCancelStreams, server, log);
  }
  if (only.includes("mongodb") && server.store === "memory") {
    if (!withSwitchboard) {
      log(`MongoDB scenario: the memory store's rows beside it, gRPC at ${plan.concurrencies.join("/")} pairs`);
      results.mongodbMemoryBaseline = (await sideBySide(plan.concurrencies, plan.timing, server, { switchboard: true, peerjs: false }, [allSeries[0]!])).switchboard;
    }
    const backends = values["mongodb-backends"]?.split(",") ?? [undefined];
    for (const chosen of backends) {
      if (chosen !== undefined && chosen !== "pg" && chosen !== "sqlite") throw new Error(`--mongodb-backends: pg or sqlite, not ${chosen}`);
      const backend = await startMongoBackend(repo, chosen);
      if ("missing" in backend) {
        results.pending.push(`Exchanges on the MongoDB store: ${backend.missing}.`);
        continue;
      }
      try {
        log(`MongoDB store (${backend.label}): exchanges over gRPC at ${plan.concurrencies.join("/")} pairs`);
        const mongoServer = { ...server, store: "mongodb", args: [...(server.args ?? []), ...backend.args] };
        const rates = await sideBySide(plan.concurrencies, plan.timing, mongoServer, { switchboard: true, peerjs: false }, [allSeries[0]!], backend.meters);
        const rows = { backend: backend.label, name: backend.name, exchanges: rates.switchboard };
        results.mongodb ??= rows;
        (results.mongodbBackends ??= []).push(rows);
      } finally {
        await backend.stop();
      }
    }
  }
  await storeBackend?.stop();

  results.ratios = ratios(results);
  results.targets = evaluateTargets(results, full.idleStreams, full.growthLevels.at(-1)!);
  if (server.store === "memory") {
    results.pending.push(
      "On the MongoDB store: push latency across two instances (change-stream and polling mode) and growth. Every scenario runs on it with `npm run bench -- --store mongodb` (FerretDB from scripts/provision-ferretdb.sh, or MONGODB_URI).",
    );
  }
  if (isQuick) results.pending.push(`Quick mode: ${plan.idleStreams} idle streams instead of ${full.idleStreams}, growth up to ${plan.growthLevels.at(-1)} channels; targets that need the full sizes are not evaluated.`);
  results.meta = {
    ...results.meta,
    loadAverageEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    durationSeconds: Math.round((Date.now() - started) / 1000),
  };

  const notes = readNotes();
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, "benchmarks.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(out, "benchmarks.md"), renderReport(results, notes));
  log(`done in ${results.meta.durationSeconds} s; wrote ${path.join(out, "benchmarks.md")} and benchmarks.json`);
  for (const t of results.targets) log(`target: ${t.name}: ${t.measured} (${t.met === undefined ? "not evaluated" : t.met ? "met" : "MISSED"})`);
  const problems = harnessProblems(results);
  for (const p of problems) log(`harness problem: ${p}`);
  if (problems.length > 0) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
