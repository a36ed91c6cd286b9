import { ConfigError, helpText, loadConfig } from "./config.js";
import { startServer } from "./app.js";
import { createLogger } from "./logger.js";

/** The program: read the config, start serving, stop gracefully on SIGTERM or SIGINT. */
async function main(): Promise<void> {
  let result;
  try {
    result = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`switchboard: ${error.message}\n`);
    process.exit(2);
  }
  if (result.help) {
    process.stdout.write(helpText());
    return;
  }
  const logger = createLogger(result.config.logLevel);
  const server = await startServer(result.config, { logger });
  const stop = (signal: string) => {
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
}

main().catch((error: unknown) => {
  process.stderr.write(`switchboard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
