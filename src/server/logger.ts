export const logLevels = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof logLevels)[number];

export type LogFields = Record<string, unknown>;

/** Writes one JSON object per line: time, level, msg and the given fields. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  isEnabled(level: LogLevel): boolean;
}

export function createLogger(minLevel: LogLevel, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  const threshold = logLevels.indexOf(minLevel);
  const isEnabled = (level: LogLevel) => logLevels.indexOf(level) >= threshold;
  const log = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (!isEnabled(level)) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + "\n");
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error"), isEnabled };
}

/** A logger that drops everything, for tests that do not read logs. */
export const silentLogger: Logger = createLogger("error", () => {});
