import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configOf } from "./support/config-of.js";
import { ConfigError, configTable, helpText, loadConfig, settings } from "../src/server/config.js";
import { configTableFile, currentConfigTable, withConfigTable } from "../scripts/lib/config-table-file.js";


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
    expect(() => loadConfig(["--default-ttl-seconds", "5"], {})).toThrow(
      "--default-ttl-seconds (5) must lie between --min-ttl-seconds (10) and --max-ttl-seconds (3600)",
    );
  });

  it("has room settings with the defaults the API documents, and refuses inconsistent ones", () => {
    expect(configOf([]).rooms).toEqual({
      defaultSeats: 2,
      maxSeats: 16,
      sessionTimeoutMs: 30_000,
      maxMessageBytes: 65_536,
      maxBacklogBytes: 262_144,
      maxRooms: 10_000,
      maxWatchStreams: 20_000,
      maxWatchersPerSession: 2,
      keepAliveIntervalMs: 15_000,
    });
    expect(configOf(["--room-default-seats", "4"], { SWITCHBOARD_ROOM_SESSION_TIMEOUT_MS: "5000" }).rooms).toMatchObject({ defaultSeats: 4, sessionTimeoutMs: 5000 });
    expect(() => loadConfig(["--room-default-seats", "20"], {})).toThrow("--room-default-seats (20) must not exceed --room-max-seats (16)");
    expect(() => loadConfig(["--room-max-backlog-bytes", "65536"], {})).toThrow(
      "--room-max-backlog-bytes (65536) must hold at least one message of --room-max-message-bytes (65536) plus 64",
    );
    expect(() => loadConfig(["--room-session-timeout-ms", "10"], {})).toThrow(/--room-session-timeout-ms .*from 1000/);
  });

  it("lists every setting in --help", () => {
    expect(loadConfig(["--help"], {})).toEqual({ help: true });
    for (const s of Object.values(settings)) {
      expect(helpText()).toContain(`--${s.flag} <value>`);
      expect(helpText()).toContain(s.env);
    }
  });

  it("documents every setting in docs/configuration.md's table, as generated (npm run docs:config)", () => {
    const doc = readFileSync(new URL(`../${configTableFile}`, import.meta.url), "utf8");
    const table = currentConfigTable(doc);
    expect(table).toBe(configTable());
    for (const s of Object.values(settings)) expect(table).toContain(`\`--${s.flag}\``);
  });

  it("npm run docs:config rewrites only the table between the markers", () => {
    const doc = "# Title\n\nintro\n<!-- config-table:start -->\nold\n<!-- config-table:end -->\n\nafter\n";
    expect(withConfigTable(doc, "new\n")).toBe("# Title\n\nintro\n<!-- config-table:start -->\nnew\n<!-- config-table:end -->\n\nafter\n");
    expect(() => withConfigTable("no markers", "new\n")).toThrow(/markers/);
  });
});
