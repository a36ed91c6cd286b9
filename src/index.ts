/**
 * Switchboard as a library (the package's main export): build and start the server inside your own
 * process. Importing it starts nothing; the `switchboard` command is src/server/cli.ts.
 *
 *   import { defaultConfig, startServer } from "switchboard";
 *   const server = await startServer({ ...defaultConfig(), port: 0 });
 *   console.log(server.url);
 *   await server.shutdown();
 *
 * The browser SDK is the separate entry point `switchboard/client`.
 */
export type { RunningServer, ServerOptions } from "./server/app.js";
export { startServer } from "./server/app.js";
export type { Config, ConfigResult } from "./server/config.js";
export { ConfigError, configTable, defaultConfig, helpText, loadConfig, settings } from "./server/config.js";
export type { LogFields, Logger, LogLevel } from "./server/logger.js";
export { createLogger, silentLogger } from "./server/logger.js";
export { StartupError } from "./server/startup-error.js";
