import { execFile } from "node:child_process";
import { promisify } from "node:util";

/**
 * The PostgreSQL that scripts/provision-postgres.sh starts, for FerretDB's
 * `pg` backend (a role that may create databases); SWITCHBOARD_POSTGRES_URL
 * names another. Shared by the benchmark and test/support/ferretdb.ts.
 */
export function postgresUrl(): string {
  return process.env["SWITCHBOARD_POSTGRES_URL"] ?? "postgres://switchboard:switchboard@127.0.0.1:5432/postgres";
}

const run = promisify(execFile);

/** Runs one SQL statement as that role (psql comes with Debian's postgresql). */
async function postgres(sql: string): Promise<void> {
  await run("psql", [postgresUrl(), "-v", "ON_ERROR_STOP=1", "-qc", sql]);
}

/** A fresh database for one FerretDB instance; returns the URL FerretDB's --postgresql-url takes. */
export async function createPostgresDatabase(prefix: string): Promise<{ readonly name: string; readonly url: string }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  try {
    await postgres(`create database ${name}`);
  } catch (error) {
    throw new Error(`FerretDB's PostgreSQL backend: cannot create a database at ${postgresUrl()} (run scripts/provision-postgres.sh): ${String(error)}`);
  }
  const url = new URL(postgresUrl());
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

export async function dropPostgresDatabase(name: string): Promise<void> {
  await postgres(`drop database if exists ${name} with (force)`).catch(() => {});
}
