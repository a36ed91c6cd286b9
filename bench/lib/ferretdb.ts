import { canConnect } from "../../src/lib/free-port.js";
import { createPostgresDatabase, dropPostgresDatabase, postgresUrl } from "./postgres.js";

/** FerretDB's storage: SQLite files in a temporary directory, or a PostgreSQL database of its own. */
export type FerretBackend = "sqlite" | "pg";

/**
 * FERRETDB_BACKEND (sqlite or pg) when set; else PostgreSQL when it answers
 * (faster: FerretDB finds a document by `_id` in an index there, where its
 * SQLite backend reads the whole collection), else SQLite. The tests and
 * the benchmark choose alike.
 */
export async function ferretBackend(): Promise<FerretBackend> {
  const chosen = process.env["FERRETDB_BACKEND"];
  if (chosen === "sqlite" || chosen === "pg") return chosen;
  if (chosen) throw new Error(`FERRETDB_BACKEND must be sqlite or pg, not ${chosen}`);
  const url = new URL(postgresUrl());
  return (await canConnect(Number(url.port || 5432), url.hostname)) ? "pg" : "sqlite";
}

/** Where one FerretDB instance keeps its data: its storage flags, and what deletes that storage's database after. */
export interface FerretStorage {
  readonly backend: FerretBackend;
  /** The PostgreSQL database of a `pg` instance (its server processes carry the name). */
  readonly database?: string;
  readonly args: readonly string[];
  drop(): Promise<void>;
}

/** A fresh PostgreSQL database (named from `prefix`) for `pg`; SQLite files in `dir` for `sqlite`. */
export async function ferretStorage(backend: FerretBackend, dir: string, prefix: string): Promise<FerretStorage> {
  if (backend === "sqlite") return { backend, args: ["--handler=sqlite", `--sqlite-url=file:${dir}/`], drop: async () => {} };
  const pg = await createPostgresDatabase(prefix);
  return { backend, database: pg.name, args: ["--handler=pg", `--postgresql-url=${pg.url}`], drop: () => dropPostgresDatabase(pg.name) };
}

/** The command line of a FerretDB on loopback `port` with `storage`, its state in `dir`, quiet and without telemetry. */
export function ferretDbCommand(binary: string, storage: FerretStorage, dir: string, port: number): string[] {
  return [binary, ...storage.args, `--state-dir=${dir}`, `--listen-addr=127.0.0.1:${port}`, "--debug-addr=-", "--telemetry=disable", "--log-level=warn"];
}
