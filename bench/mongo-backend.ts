import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, startPinnedCommand, waitForTcp } from "./lib/processes.js";
import { createPostgresDatabase, dropPostgresDatabase } from "./lib/postgres.js";
import { serverCore } from "./servers.js";

/** The MongoDB server the Switchboard server under test uses for `--store mongodb`. */
export interface MongoBackend {
  /** For the report, e.g. "FerretDB v1.24.0 (SQLite), pinned to core 0". */
  readonly label: string;
  /** Where it listens (the database is named in `args`). */
  readonly uri: string;
  /** Switchboard flags that select it. */
  readonly args: readonly string[];
  stop(): Promise<void>;
}

/**
 * MONGODB_URI when set (a real MongoDB; a fresh database per run), else the
 * FerretDB that scripts/provision-ferretdb.sh installs, started here with an
 * SQLite backend in a temporary directory (FERRETDB_BACKEND=pg: a fresh
 * database of scripts/provision-postgres.sh's PostgreSQL) and pinned to the server core
 * (it is part of the server side). Undefined, with the reason, when neither exists.
 */
export async function startMongoBackend(repoRoot: string): Promise<MongoBackend | { readonly missing: string }> {
  const database = ["--mongodb-database", `switchboard_bench_${Date.now()}`];
  const uri = process.env["MONGODB_URI"];
  if (uri) return { label: "MongoDB at MONGODB_URI (not pinned)", uri, args: ["--mongodb-uri", uri, ...database], stop: async () => {} };
  const binary = process.env["FERRETDB_BIN"] ?? path.join(repoRoot, ".tools/bin/ferretdb");
  if (!existsSync(binary)) return { missing: "no MongoDB server: run `bash scripts/provision-ferretdb.sh` or set MONGODB_URI" };
  const stamp = path.join(path.dirname(binary), "ferretdb.version");
  const version = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "(version unknown)";
  const dir = mkdtempSync(path.join(os.tmpdir(), "switchboard-bench-ferretdb-"));
  const port = await freePort();
  const backend = process.env["FERRETDB_BACKEND"] ?? "sqlite";
  if (backend !== "sqlite" && backend !== "pg") return { missing: `FERRETDB_BACKEND must be sqlite or pg, not ${backend}` };
  const pg = backend === "pg" ? await createPostgresDatabase("ferretdb_bench") : undefined;
  const storage = pg ? ["--handler=pg", `--postgresql-url=${pg.url}`] : ["--handler=sqlite", `--sqlite-url=file:${dir}/`];
  const ferret = await startPinnedCommand(
    "ferretdb",
    serverCore,
    [binary, ...storage, `--state-dir=${dir}`, `--listen-addr=127.0.0.1:${port}`, "--debug-addr=-", "--telemetry=disable", "--log-level=warn"],
    () => waitForTcp(port),
  );
  return {
    label: pg
      ? `FerretDB ${version} (PostgreSQL backend: Debian's postgresql, not pinned), FerretDB pinned to core ${serverCore} with the server`
      : `FerretDB ${version} (SQLite backend), pinned to core ${serverCore} with the server`,
    uri: `mongodb://127.0.0.1:${port}/`,
    args: ["--mongodb-uri", `mongodb://127.0.0.1:${port}/`, ...database],
    stop: async () => {
      await ferret.stop();
      rmSync(dir, { recursive: true, force: true });
      if (pg) await dropPostgresDatabase(pg.name);
    },
  };
}
