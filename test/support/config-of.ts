import type { Config } from "../../src/server/config.js";
import { loadConfig } from "../../src/server/config.js";

/** The config that these flags and variables give; fails the test on --help. */
export function configOf(argv: string[], env: Record<string, string> = {}): Config {
  const result = loadConfig(argv, env);
  if (result.help) throw new Error("unexpected --help");
  return result.config;
}
