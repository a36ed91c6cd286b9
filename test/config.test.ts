import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configOf } from "./support/config-of.js";
import { ConfigError, configTable, helpText, loadConfig, settings } from "../src/server/config.js";


describe("configuration", () => {
  it("starts from documented defaults", () => {
    const config = configOf([]);
    expect(config.port).toBe(8080);
    expect(config.store).toBe("memory");
    expect(config.limits.defaultTtlMs).toBe(300_000);
    expect(config.limits.maxSdpBytes).toBe(65_536);
  });

  it("takes environment variables, and flags over them", () => {
    expect(configOf([], { SWITCHBOARD_PORT: "9000" }).port).toBe(9000);
    expect(configOf(["--port", "9001"], { SWITCHBOARD_PORT: "9000" }).port).toBe(9001);
    expect(configOf(["--max-sdp-bytes=1000"]).limits.maxSdpBytes).toBe(1000);
  });

  it("names the flag, the variable and the value in every problem it finds", () => {
    const attempt = () => loadConfig(["--port", "http"], { SWITCHBOARD_MAX_CHANNELS: "-1" });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/--port \/ SWITCHBOARD_PORT: must be a whole number from 0 to 65535 \(got "http"\)/);
    expect(attempt).toThrow(/--max-channels \/ SWITCHBOARD_MAX_CHANNELS: .*\(got "-1"\)/);
  });

  it("rejects unknown flags and inconsistent TTLs", () => {
    expect(() => loadConfig(["--prot", "1"], {})).toThrow(/Unknown option '--prot'/);
    expect(() => loadConfig(["--default-ttl-seconds", "5"], {})).toThrow(/--default-ttl-seconds must lie between/);
  });

  it("lists every setting in --help", () => {
    expect(loadConfig(["--help"], {})).toEqual({ help: true });
    for (const s of Object.values(settings)) {
      expect(helpText()).toContain(`--${s.flag} <value>`);
      expect(helpText()).toContain(s.env);
    }
  });

  it("documents every setting in the README's configuration table, as generated (npm run docs:config)", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const table = readme.split("<!-- config-table:start -->\n")[1]?.split("<!-- config-table:end -->")[0];
    expect(table).toBe(configTable());
    for (const s of Object.values(settings)) expect(table).toContain(`\`--${s.flag}\``);
  });
});
