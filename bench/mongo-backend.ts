import { mkdtempSync, readdirSync, readFileSync, existsSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FerretBackend } from "./lib/ferretdb.js";
import { ferretBackend, ferretDbCommand, ferretStorage } from "./lib/ferretdb.js";
import type { CpuMeter } from "./lib/load.js";
import { freePort, startPinnedCommand, waitForTcp } from "./lib/processes.js";
import { serverCore } from "./servers.js";

/** The MongoDB server the Switchboard server under test uses for `--store mongodb`. */
export interface MongoBackend {
  /** For the report, e.g. "FerretDB v1.24.0 (SQLite), pinned to core 0". */
  readonly label: string;
  /** Short, for tables: "FerretDB-PostgreSQL", "FerretDB-SQLite", "MongoDB". */
  readonly name: string;
  /** Where it listens (the database is named in `args`). */
  readonly uri: string;
  /** Switchboard flags that select it. */
  readonly args: readonly string[];
  /** Its processes, whose CPU time the rows report per exchange (none for MONGODB_URI). */
  readonly meters: readonly CpuMeter[];
  stop(): Promise<void>;
}

const clockTicksPerSecond = 100;

/** CPU time (ms) of every PostgreSQL server process serving `database` (their titles name it). */
function postgresCpuMs(database: string): number {
  let ticks = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(database)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return (ticks * 1000) / clockTicksPerSecond;
}

/**
 * MONGODB_URI when set (a real MongoDB; a fresh database per run), else the
 * FerretDB that scripts/provision-ferretdb.sh installs, started here on
 * `backend` (default: as the tests choose, PostgreSQL when
 * scripts/provision-postgres.sh's server answers, else SQLite;
 * FERRETDB_BACKEND forces one) and pinned to the server core (it is part of
 * the server side). Undefined, with the reason, when neither exists.
 */
export async function startMongoBackend(repoRoot: string, backend?: FerretBackend): Promise<MongoBackend | { readonly missing: string }> {
  const database = ["--mongodb-database", `switchboard_bench_${Date.now()}`];
  const uri = process.env["MONGODB_URI"];
  if (uri) return { label: "MongoDB at MONGODB_URI (not pinned)", name: "MongoDB", uri, args: ["--mongodb-uri", uri, ...database], meters: [], stop: async () => {} };
  const binary = process.env["FERRETDB_BIN"] ?? path.join(repoRoot, ".tools/bin/ferretdb");
  if (!existsSync(binary)) return { missing: "no MongoDB server: run `bash scripts/provision-ferretdb.sh` or set MONGODB_URI" };
  const stamp = path.join(path.dirname(binary), "ferretdb.version");
  const version = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "(version unknown)";
  let chosen: FerretBackend;
  try {
    chosen = backend ?? (await ferretBackend());
  } catch (error) {
    return { missing: (error as Error).message };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "switchboard-bench-ferretdb-"));
  const port = await freePort();
  const storage = await ferretStorage(chosen, dir, "ferretdb_bench");
  const ferret = await startPinnedCommand("ferretdb", serverCore, ferretDbCommand(binary, storage, dir, port), () => waitForTcp(port));
  const meters: CpuMeter[] = [{ name: "FerretDB", cpuMs: () => ferret.cpuMs() }];
  if (storage.database) meters.push({ name: "PostgreSQL", cpuMs: () => postgresCpuMs(storage.database!) });
  return {
    label: storage.database
      ? `FerretDB ${version} (PostgreSQL backend: Debian's postgresql, not pinned), FerretDB pinned to core ${serverCore} with the server`
      : `FerretDB ${version} (SQLite backend), pinned to core ${serverCore} with the server`,
    name: storage.database ? "FerretDB-PostgreSQL" : "FerretDB-SQLite",
    uri: `mongodb://127.0.0.1:${port}/`,
    args: ["--mongodb-uri", `mongodb://127.0.0.1:${port}/`, ...database],
    meters,
    stop: async () => {
      await ferret.stop();
      rmSync(dir, { recursive: true, force: true });
      await storage.drop();
    },
  };
}
