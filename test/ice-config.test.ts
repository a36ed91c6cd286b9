import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect, promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, helpText, loadConfig } from "../src/server/config.js";

const secret = "do-not-print-me-7Hq";

function problemsOf(env: Record<string, string>, argv: string[] = []): string {
  try {
    loadConfig(argv, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

function iceOf(env: Record<string, string>) {
  const result = loadConfig([], env);
  if (result.help) throw new Error("unexpected --help");
  return result.config.ice;
}

describe("ICE server settings", () => {
  it("are off by default, and would need a token", () => {
    expect(iceOf({})).toEqual({ staticServers: [], turnRest: undefined, requireToken: true });
  });

  it("read static servers, TURN REST URLs, the secret, the lifetime and the token requirement", () => {
    const ice = iceOf({
      SWITCHBOARD_ICE_SERVERS: '[{"urls":"stun:[2001:db8::1]:3478"},{"urls":["turn:t.example.org?transport=tcp"],"username":"u","credential":"c"}]',
      SWITCHBOARD_TURN_REST_URLS: " turn:t.example.org:3478 , turns:t.example.org:5349?transport=tcp ",
      SWITCHBOARD_TURN_REST_SECRET: secret,
      SWITCHBOARD_TURN_CREDENTIAL_TTL_SECONDS: "3600",
      SWITCHBOARD_ICE_REQUIRE_TOKEN: "on",
    });
    expect(ice.staticServers).toEqual([
      { urls: ["stun:[2001:db8::1]:3478"], username: "", credential: "" },
      { urls: ["turn:t.example.org?transport=tcp"], username: "u", credential: "c" },
    ]);
    expect(ice.turnRest?.urls).toEqual(["turn:t.example.org:3478", "turns:t.example.org:5349?transport=tcp"]);
    expect(ice.turnRest?.secret.reveal()).toBe(secret);
    expect(ice.turnRest?.ttlSeconds).toBe(3600);
    expect(ice.requireToken).toBe(true);
  });

  it("read the secret from a file, without its trailing line break", () => {
    const file = join(mkdtempSync(join(tmpdir(), "switchboard-")), "turn-secret");
    writeFileSync(file, `${secret}\n`);
    const ice = iceOf({ SWITCHBOARD_TURN_REST_URLS: "turn:t.example.org", SWITCHBOARD_TURN_REST_SECRET_FILE: file });
    expect(ice.turnRest?.secret.reveal()).toBe(secret);
  });

  const errors: [string, Record<string, string>, RegExp][] = [
    ["ice-servers that is not JSON", { SWITCHBOARD_ICE_SERVERS: "stun:x" }, /--ice-servers .*must be a JSON array/],
    ["ice-servers that is not an array", { SWITCHBOARD_ICE_SERVERS: '{"urls":"stun:x"}' }, /must be a JSON array/],
    ["an entry without urls", { SWITCHBOARD_ICE_SERVERS: '[{"username":"u"}]' }, /entry 0: urls must be a URL or a non-empty array/],
    ["an entry with an unknown field", { SWITCHBOARD_ICE_SERVERS: '[{"urls":"stun:x","url":"stun:y"}]' }, /entry 0 has unknown field\(s\) url/],
    ["a URL of another scheme", { SWITCHBOARD_ICE_SERVERS: '[{"urls":"http://x"}]' }, /entry 0: urls\[0\] is not a stun:, stuns:, turn: or turns: URL/],
    ["a static TURN server without credentials", { SWITCHBOARD_ICE_SERVERS: '[{"urls":"turn:x"}]' }, /entry 0: urls\[0\] is a TURN URL and needs a username and a credential/],
    ["a TURN REST URL that is not turn:", { SWITCHBOARD_TURN_REST_URLS: "stun:x" }, /--turn-rest-urls .*not turn: or turns: URLs: stun:x/],
    ["TURN REST URLs without a secret", { SWITCHBOARD_TURN_REST_URLS: "turn:x" }, /--turn-rest-urls needs the shared secret/],
    ["a secret without TURN REST URLs", { SWITCHBOARD_TURN_REST_SECRET: secret }, /a TURN REST secret is set but --turn-rest-urls is empty/],
    [
      "both a secret and a secret file",
      { SWITCHBOARD_TURN_REST_URLS: "turn:x", SWITCHBOARD_TURN_REST_SECRET: secret, SWITCHBOARD_TURN_REST_SECRET_FILE: "/etc/hostname" },
      /both set; set only one/,
    ],
    ["an unreadable secret file", { SWITCHBOARD_TURN_REST_SECRET_FILE: "/nonexistent/secret" }, /--turn-rest-secret-file .*cannot read the file: ENOENT/],
    ["a lifetime under a minute", { SWITCHBOARD_TURN_CREDENTIAL_TTL_SECONDS: "59" }, /--turn-credential-ttl-seconds .*from 60 to 604800/],
    ["ice-require-token that is not on/off", { SWITCHBOARD_ICE_REQUIRE_TOKEN: "yes" }, /--ice-require-token .*must be one of on, off/],
  ];
  it.each(errors)("reject %s", (_name, env, message) => {
    expect(problemsOf(env)).toMatch(message);
  });

  it("never echo the secret in an error", () => {
    const text = problemsOf({ SWITCHBOARD_TURN_REST_SECRET: secret, SWITCHBOARD_TURN_CREDENTIAL_TTL_SECONDS: "1" });
    expect(text).toMatch(/turn-credential-ttl-seconds/);
    expect(text).not.toContain(secret);
    expect(problemsOf({ SWITCHBOARD_TURN_REST_SECRET: secret })).not.toContain(secret);
    expect(problemsOf({}, [`--turn-rest-secret=${secret}`])).not.toContain(secret);
  });

  it("never echo a credential of --ice-servers or a password in --mongodb-uri in an error", () => {
    const password = "hunter2-Xq9";
    for (const iceServers of [
      `[{"urls":"turn:t.example.org","username":"u","credential":"${password}"},{"urls":"http://x"}]`,
      `[{"urls":"stun:u:${password}@t.example.org"}]`,
      `[{"urls":"turn:t.example.org","username":"u","credential":"${password}","extra":1}]`,
      `not json ${password}`,
    ]) {
      const text = problemsOf({ SWITCHBOARD_ICE_SERVERS: iceServers });
      expect(text).toMatch(/--ice-servers/);
      expect(text).not.toContain(password);
    }
    const mongo = problemsOf({ SWITCHBOARD_MONGODB_URI: `mongodb://admin:${password}@db.example.org/`, SWITCHBOARD_PORT: "x" });
    expect(mongo).toMatch(/--port/);
    expect(mongo).not.toContain(password);
    expect(problemsOf({ SWITCHBOARD_MONGODB_URI: " " })).toMatch(/--mongodb-uri .*must not be empty$/m);
    // The shell split an unquoted value: the stray words are not quoted back either.
    expect(() => loadConfig(["--ice-servers", '[{"urls":"turn:t","username":"u",', `"credential":"${password}"}]`], {})).toThrow(ConfigError);
    try {
      loadConfig(["--ice-servers", '[{"urls":"turn:t","username":"u",', `"credential":"${password}"}]`], {});
    } catch (error) {
      expect(String(error)).not.toContain(password);
    }
  });

  it("hold the MongoDB URI like the TURN secret: never in JSON or inspect output of the config", () => {
    const password = "hunter2-Xq9";
    const result = loadConfig([], { SWITCHBOARD_MONGODB_URI: `mongodb://admin:${password}@db.example.org/` });
    if (result.help) throw new Error("unexpected --help");
    expect(JSON.stringify(result.config)).not.toContain(password);
    expect(inspect(result.config, { depth: 10 })).not.toContain(password);
    expect(helpText()).not.toContain(password);
  });
});

describe("compat endpoint settings", () => {
  const compatPathOf = (env: Record<string, string>) => {
    const result = loadConfig([], env);
    if (result.help) throw new Error("unexpected --help");
    return result.config.compatPath;
  };

  it("serve nothing by default, / when on, another path when set", () => {
    expect(compatPathOf({})).toBeUndefined();
    expect(compatPathOf({ SWITCHBOARD_COMPAT_API: "on" })).toBe("/");
    expect(compatPathOf({ SWITCHBOARD_COMPAT_API: "on", SWITCHBOARD_COMPAT_PATH: "/signal" })).toBe("/signal");
    expect(compatPathOf({ SWITCHBOARD_COMPAT_API: "off" })).toBeUndefined();
  });

  it.each([
    ["signal", /must be an absolute path/],
    ["/a?b=c", /without query or fragment/],
    ["/healthz", /\/healthz is the health check/],
    ["/signaling.v1.SignalingService", /would shadow RPC routes/],
  ])("reject the path %s", (path, message) => {
    expect(problemsOf({ SWITCHBOARD_COMPAT_PATH: path })).toMatch(message);
  });

  it("are listed in --help, without any secret value", () => {
    const help = helpText();
    for (const flag of ["compat-api", "compat-path", "ice-servers", "turn-rest-urls", "turn-rest-secret", "turn-rest-secret-file", "turn-credential-ttl-seconds", "ice-require-token"]) {
      expect(help).toContain(`--${flag} <value>`);
    }
  });
});

describe("the server program", () => {
  it("exits with status 2 and says what is wrong when the ICE configuration is invalid, without printing the secret", async () => {
    const run = promisify(execFile);
    const failure = await run("node_modules/.bin/vite-node", ["src/server/cli.ts"], {
      timeout: 15_000,
      env: { ...process.env, SWITCHBOARD_PORT: "0", SWITCHBOARD_TURN_REST_SECRET: secret, SWITCHBOARD_TURN_REST_URLS: "stun:x" },
    }).then(
      () => undefined,
      (error: { code: number; stderr: string; stdout: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/switchboard: invalid configuration: --turn-rest-urls \/ SWITCHBOARD_TURN_REST_URLS: not turn: or turns: URLs: stun:x/);
    expect(`${failure?.stderr}${failure?.stdout}`).not.toContain(secret);
  });
});
