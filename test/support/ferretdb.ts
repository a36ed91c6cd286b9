import { MongoClient } from "mongodb";
import { canConnect, freePort } from "../../src/lib/free-port.js";
import type { FerretBackend, FerretStorage } from "../../bench/lib/ferretdb.js";
import { ferretBackend, ferretDbCommand, ferretStorage } from "../../bench/lib/ferretdb.js";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";

const binaryCandidates = [
  process.env["FERRETDB_BIN"],
  path.resolve(import.meta.dirname, "../../.tools/bin/ferretdb"),
  path.join(process.env["HOME"] ?? "", "go/bin/ferretdb"),
];

/** The FerretDB binary scripts/provision-ferretdb.sh installs, if present. */
export function ferretDbBinary(): string | undefined {
  return binaryCandidates.find((candidate): candidate is string => !!candidate && existsSync(candidate));
}

/** A FerretDB process on a free loopback port, with its own SQLite directory or PostgreSQL database. */
export class FerretDb {
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = "";

  private constructor(
    private readonly binary: string,
    private readonly dir: string,
    readonly port: number,
    private readonly storage: FerretStorage,
  ) {}

  get backend(): FerretBackend {
    return this.storage.backend;
  }

  static async start(binary: string, backend?: FerretBackend): Promise<FerretDb> {
    const chosen = backend ?? (await ferretBackend());
    const dir = await mkdtemp(path.join(tmpdir(), "switchboard-ferretdb-"));
    const server = new FerretDb(binary, dir, await freePort(), await ferretStorage(chosen, dir, "ferretdb_test"));
    await server.start();
    return server;
  }

  get uri(): string {
    return `mongodb://127.0.0.1:${this.port}/`;
  }

  /** Starts the process (again, after stop: same port, same data). */
  async start(): Promise<void> {
    const [program, ...args] = ferretDbCommand(this.binary, this.storage, this.dir, this.port);
    const child = spawn(program!, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.process = child;
    const collect = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000));
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    await this.waitUntilListening(child);
  }

  /** Kills the process at once, as a crash would. */
  async stop(): Promise<void> {
    this.process?.kill("SIGKILL");
    await this.exited;
    this.process = undefined;
  }

  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
    await this.storage.drop();
  }

  private async waitUntilListening(child: ChildProcess): Promise<void> {
    for (let attempt = 0; attempt < 200; attempt++) {
      if (child.exitCode !== null) throw new Error(`ferretdb exited with code ${child.exitCode}:\n${this.output}`);
      if (await canConnect(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`ferretdb did not listen on port ${this.port} within 10 s:\n${this.output}`);
  }
}



/** What the Mongo suites run against: MONGODB_URI when set, else a FerretDB they start. */
export type MongoTarget = { readonly kind: "uri"; readonly uri: string } | { readonly kind: "ferretdb"; readonly binary: string };

/**
 * The server to test against, or undefined (with the reason printed) when
 * there is none outside CI. With CI=true a missing server is an error, so
 * the run fails instead of skipping.
 */
export function mongoTarget(): MongoTarget | undefined {
  const uri = process.env["MONGODB_URI"];
  if (uri) return { kind: "uri", uri };
  const binary = ferretDbBinary();
  if (binary) return { kind: "ferretdb", binary };
  const reason = "no MongoDB server to test against: run `bash scripts/provision-ferretdb.sh` or set MONGODB_URI";
  if (process.env["CI"] === "true") throw new Error(reason);
  console.warn(`skipping the MongoDB store suites: ${reason}`);
  return undefined;
}

/** A unique database name, so suites sharing one server never see each other's channels. */
export function testDatabaseName(): string {
  return `switchboard_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
}

/** A running server for a suite: the MONGODB_URI one, or a FerretDB started for it. */
export interface MongoServer {
  readonly uri: string;
  /** Present when the suite started the server itself, so it can stop and restart it. */
  readonly ferret?: FerretDb;
  dispose(): Promise<void>;
}

export async function startMongoServer(target: MongoTarget): Promise<MongoServer> {
  if (target.kind === "uri") return { uri: target.uri, dispose: async () => {} };
  const ferret = await FerretDb.start(target.binary);
  return { uri: ferret.uri, ferret, dispose: () => ferret.dispose() };
}

/** Drops a suite's database and stops the server the suite started (an external one is left running). */
export async function disposeWithDatabase(server: MongoServer | undefined, database: string): Promise<void> {
  if (!server) return;
  const admin = new MongoClient(server.uri, { serverSelectionTimeoutMS: 1000 });
  await admin.db(database).dropDatabase().catch(() => {});
  await admin.close();
  await server.dispose();
}
