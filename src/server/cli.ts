#!/usr/bin/env -S node --max-semi-space-size=16
// The `switchboard` command (package.json "bin"): read the config, start serving, stop gracefully on
// SIGTERM or SIGINT. Importing the package runs none of this: its main export is src/index.ts.
// The Node flags on the first line are the command's own: `npm start`, the Dockerfile and the benchmark start it
// with the same ones (src/server/node-flags.ts). --max-semi-space-size=16 caps V8's young generation at 2 × 16 MiB:
// left to itself V8 (without pointer compression, as Node builds it) grows it to 2 × 64 MiB under load and keeps
// it, a quarter of the RSS of a server holding 10,000 idle streams (docs/benchmarks.md, "Idle streams: the young
// generation"); smaller caps cost measurable CPU per call.
import type { RunningServer } from "./app.js";
import { startServer } from "./app.js";
import { ConfigError, helpText, loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { StartupError } from "./startup-error.js";

/** Exit status for a configuration the command refuses before starting. */
const badConfigurationStatus = 2;

async function main(): Promise<void> {
  let result;
  try {
    result = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    fail(error.message, badConfigurationStatus);
  }
  if (result.help) {
    process.stdout.write(helpText());
    return;
  }
  const logger = createLogger(result.config.logLevel);
  // Listen for signals before starting: one that arrives while the store opens or right after the
  // "listening" line must stop the server gracefully, not kill the process.
  let server: RunningServer | undefined;
  let requested: string | undefined;
  const stop = (signal: string) => {
    if (!server) {
      requested = signal;
      return;
    }
    logger.info("signal received", { signal });
    server.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error("shutdown failed", { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  try {
    server = await startServer(result.config, { logger });
  } catch (error) {
    // A start that failed for a reason the operator can fix: one line, no stack trace.
    if (error instanceof StartupError) fail(error.message, 1);
    throw error;
  }
  if (requested !== undefined) stop(requested);
}

function fail(message: string, status: number): never {
  process.stderr.write(`switchboard: ${message}\n`);
  process.exit(status);
}

main().catch((error: unknown) => {
  // Not foreseen: the stack is what a bug report needs.
  process.stderr.write(`switchboard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
