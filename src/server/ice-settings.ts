import { accessSync, constants, readFileSync } from "node:fs";
import type { JsonValue } from "@bufbuild/protobuf";
import { isJsonObject, parseJson } from "../lib/json.js";
import { Secret } from "../lib/secret.js";
import type { IceConfig, IceServerInit } from "../service/ice-service.js";

/*
 * Parsers for the ICE server settings. Every error names what is wrong and
 * never repeats a secret.
 */

const stunUrl = /^stuns?:[^\s?#/]+$/;
const turnUrl = /^turns?:[^\s?#/]+(\?transport=(udp|tcp))?$/;

/**
 * The static servers: a JSON array of RTCIceServer objects, e.g.
 * [{"urls":"stun:stun.example.org:3478"},{"urls":["turn:turn.example.org"],"username":"u","credential":"p"}].
 */
export function parseIceServers(text: string): IceServerInit[] {
  if (text.trim() === "") return [];
  const parsed = parseJson(text);
  if (!parsed || !Array.isArray(parsed.value)) {
    throw new Error('must be a JSON array of {"urls", "username"?, "credential"?} objects');
  }
  return parsed.value.map((entry, i) => parseIceServer(entry, i));
}

function parseIceServer(entry: JsonValue, index: number): IceServerInit {
  const where = `entry ${index}`;
  if (!isJsonObject(entry)) throw new Error(`${where} must be an object`);
  const unknown = Object.keys(entry).filter((k) => !["urls", "username", "credential"].includes(k));
  if (unknown.length > 0) throw new Error(`${where} has unknown field(s) ${unknown.join(", ")}; allowed: urls, username, credential`);
  const rawUrls = entry["urls"];
  const urls = typeof rawUrls === "string" ? [rawUrls] : rawUrls;
  if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === "string")) {
    throw new Error(`${where}: urls must be a URL or a non-empty array of URLs`);
  }
  const { username = "", credential = "" } = entry;
  if (typeof username !== "string" || typeof credential !== "string") {
    throw new Error(`${where}: username and credential must be strings`);
  }
  // The messages name entries by position, never by text: a mistyped URL may carry a password.
  for (const [i, url] of (urls as string[]).entries()) {
    if (turnUrl.test(url)) {
      if (username === "" || credential === "") {
        throw new Error(`${where}: urls[${i}] is a TURN URL and needs a username and a credential (browsers refuse TURN servers without them)`);
      }
    } else if (!stunUrl.test(url) || url.includes("@")) {
      throw new Error(`${where}: urls[${i}] is not a stun:, stuns:, turn: or turns: URL (host[:port], no user info)`);
    }
  }
  return { urls: urls as string[], username, credential };
}

/** The setting's text, once parseIceServers accepts it. */
export function validIceServers(text: string): string {
  parseIceServers(text);
  return text;
}

/** A comma-separated list of turn: / turns: URLs. */
export function parseTurnUrls(text: string): string[] {
  const urls = text.split(",").map((u) => u.trim()).filter((u) => u !== "");
  const bad = urls.filter((u) => !turnUrl.test(u));
  if (bad.length > 0) throw new Error(`not turn: or turns: URLs: ${bad.join(", ")}`);
  return urls;
}

/** Any text; never rejected, so an error message can never echo it (for secrets). */
export const anyText = (text: string): string => text;

/** A path this process can read, or "" for none. The path is not secret; the file's content is. */
export function readableFile(path: string): string {
  if (path === "") return path;
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    throw new Error(`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return path;
}

/** The secret in a file, without its trailing line break. */
function secretFromFile(path: string): Secret {
  return new Secret(readFileSync(path, "utf8").replace(/\r?\n$/, ""));
}

export interface IceSettingValues {
  /** JSON text that validIceServers accepted. */
  readonly iceServers: string;
  readonly turnRestUrls: readonly string[];
  readonly turnRestSecret: string;
  /** A readable path, or "". */
  readonly turnRestSecretFile: string;
  readonly turnCredentialTtlSeconds: number;
  readonly iceRequireToken: "on" | "off";
}

/** The IceConfig, or the problems found across the ICE settings. */
export function iceConfig(v: IceSettingValues): { config: IceConfig; problems: string[] } {
  const problems: string[] = [];
  if (v.turnRestSecret !== "" && v.turnRestSecretFile !== "") {
    problems.push("--turn-rest-secret and --turn-rest-secret-file are both set; set only one");
  }
  let secret = new Secret(v.turnRestSecret);
  if (v.turnRestSecretFile !== "") {
    try {
      secret = secretFromFile(v.turnRestSecretFile);
    } catch (error) {
      problems.push(`--turn-rest-secret-file: cannot read the file: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
    }
  }
  const hasSecret = secret.reveal() !== "";
  if (v.turnRestUrls.length > 0 && !hasSecret) {
    problems.push("--turn-rest-urls needs the shared secret: set SWITCHBOARD_TURN_REST_SECRET or --turn-rest-secret-file");
  }
  if (v.turnRestUrls.length === 0 && hasSecret) {
    problems.push("a TURN REST secret is set but --turn-rest-urls is empty; name the TURN servers that share it");
  }
  const turnRest =
    v.turnRestUrls.length > 0 && hasSecret
      ? { urls: v.turnRestUrls, secret, ttlSeconds: v.turnCredentialTtlSeconds }
      : undefined;
  return {
    config: { staticServers: parseIceServers(v.iceServers), turnRest, requireToken: v.iceRequireToken === "on" },
    problems,
  };
}
