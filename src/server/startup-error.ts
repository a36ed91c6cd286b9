import { StoreError } from "../store/store.js";
import { revealed } from "../lib/secret.js";
import type { Config } from "./config.js";

/**
 * A start that failed for a reason the operator fixes by changing a setting or the environment. Its
 * message is one line: what failed, where (never a password), and which setting to change; the
 * command prints it without a stack trace. `cause` keeps the original error.
 */
export class StartupError extends Error {
  override name = "StartupError";
}

/**
 * The hosts of a MongoDB connection string, as `host:port,host:port`, without the user name, the
 * password or the options: what a log line or an error message may show of the URI.
 */
export function mongoHosts(uri: string): string {
  const scheme = /^mongodb(\+srv)?:\/\//.exec(uri);
  if (!scheme) return "(not a mongodb:// URI)";
  const rest = uri.slice(scheme[0].length);
  // Only what follows the last "@" can be printed: everything before it may be a password.
  const hosts = rest.slice(rest.lastIndexOf("@") + 1).split(/[/?]/)[0] ?? "";
  return hosts === "" ? "(no host)" : hosts;
}

const uriSetting = "--mongodb-uri (SWITCHBOARD_MONGODB_URI or MONGODB_URI)";

/**
 * Why the MongoDB store could not be opened, in one line naming the setting to change. Loads the driver
 * for its error classes: only a server configured for MongoDB gets here, and only it loads the driver.
 */
export async function mongoStartupError(error: unknown, mongodb: Config["mongodb"]): Promise<StartupError> {
  const { MongoParseError, MongoServerError } = await import("mongodb");
  const uri = revealed(mongodb.uri);
  const at = `MongoDB at ${mongoHosts(uri)}`;
  const why = reason(error, uri);
  if (error instanceof MongoParseError) {
    return new StartupError(`${uriSetting} is not a usable connection string: ${why}; fix ${uriSetting}`, { cause: error });
  }
  if (error instanceof StoreError && error.reason === "unavailable") {
    return new StartupError(
      `cannot reach ${at} within ${mongodb.serverSelectionTimeoutMs} ms (${why}); check ${uriSetting}` +
        " and that MongoDB is running, or raise --mongodb-server-selection-timeout-ms",
      { cause: error },
    );
  }
  if (error instanceof MongoServerError && (error.code === 18 || error.codeName === "AuthenticationFailed")) {
    return new StartupError(`${at} refused the credentials (${why}); fix the user name or password in ${uriSetting}`, { cause: error });
  }
  if (error instanceof MongoServerError && (error.code === 13 || error.codeName === "Unauthorized")) {
    return new StartupError(
      `${at} refused an operation (${why}); the user in ${uriSetting} needs readWrite and createIndex on database ` +
        `"${mongodb.database}" (--mongodb-database)`,
      { cause: error },
    );
  }
  return new StartupError(`cannot open the MongoDB store at ${mongoHosts(uri)} (${why}); check ${uriSetting} and the --mongodb-* settings`, {
    cause: error,
  });
}

/** Why the listener could not bind, in one line naming the setting to change. */
export function listenStartupError(error: unknown, host: string, port: number): StartupError {
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === "EADDRINUSE"
      ? `another process listens on ${address}; change --port (SWITCHBOARD_PORT), or stop that process`
      : code === "EACCES"
        ? `not allowed to listen on ${address} (ports below 1024 need privileges); change --port (SWITCHBOARD_PORT)`
        : code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN"
          ? `${host} is not an address of this machine; change --host (SWITCHBOARD_HOST), e.g. to 0.0.0.0 for every address`
          : `${reason(error)}; check --host (SWITCHBOARD_HOST) and --port (SWITCHBOARD_PORT)`;
  return new StartupError(`cannot listen on ${address}: ${why}`, { cause: error });
}

/** The error's own message on one line, with anything that may be the URI's credentials taken out. */
function reason(error: unknown, uri?: string): string {
  let text = (error instanceof Error ? error.message : String(error)).replace(/^MongoDB is unavailable: /, "");
  const userInfo = uri === undefined ? undefined : /^mongodb(?:\+srv)?:\/\/([^/?]*)@/.exec(uri)?.[1];
  if (userInfo) text = text.replaceAll(userInfo, "[redacted]").replaceAll(decodeSafely(userInfo), "[redacted]");
  for (const part of userInfo?.split(":") ?? []) if (part.length >= 4) text = text.replaceAll(part, "[redacted]");
  return text.replace(/\s+/g, " ").trim();
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
