import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { isJsonObject, nestsDeeperThan, parseJson } from "../../lib/json.js";
import type { CompatApi } from "../../service/compat/compat-api.js";
import { limitSettingHeader, limitSettingOf, retryAfterHeader } from "../../service/limit-error.js";
import type { Logger } from "../logger.js";
import type { ClientAddressResolver } from "../pipeline/client-address.js";
import type { MethodClass, RateLimiter } from "../pipeline/rate-limit.js";
import { endUnreadRequest } from "./end-unread.js";
import { readBody } from "./read-body.js";
import { pathOf } from "../../lib/url-path.js";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

export interface CompatEndpointOptions {
  /** The exact path served. */
  readonly path: string;
  /** Larger request bodies are answered with 400 (max-request-bytes). */
  readonly maxBodyBytes: number;
  /** Request bodies nesting arrays and objects deeper are answered with 400 (compat-max-json-depth). */
  readonly maxJsonDepth: number;
  readonly api: CompatApi;
  readonly logger: Logger;
  /** The Allow header of a 405: "POST", plus the methods something else serves on the same path. */
  readonly allow?: string;
  /**
   * The per-client budgets the RPCs are charged to (one limiter, shared), and how a request's client
   * address is found (trusted proxies included); each request is charged by its method's class. Absent: no limit.
   */
  readonly rateLimit?: { readonly limiter: RateLimiter; readonly clientAddress: ClientAddressResolver };
  /** Counts a request refused by a limit, by setting (switchboard_limit_rejections_total). */
  readonly onLimitRejection?: (setting: string) => void;
}

/** The rate-limit class of each compat method, as its SignalingService counterpart's. */
export const compatMethodClasses: Readonly<Record<string, MethodClass>> = {
  create_data_channel: "create",
  create_offer: "write",
  create_answer: "write",
  create_candidate: "write",
  get_offer: "read",
  get_answer: "read",
  get_candidates: "read",
};

/** A request body's class; a body that names no known method is charged as a read, so garbage is limited too. */
function compatMethodClass(body: JsonValue | undefined): MethodClass {
  const name = isJsonObject(body) ? body["method"] : undefined;
  return (typeof name === "string" && Object.hasOwn(compatMethodClasses, name) && compatMethodClasses[name]) || "read";
}

export interface CompatEndpoint {
  /** Whether the request is for this endpoint: its path is exactly the configured one. */
  matches(req: Request): boolean;
  /** The same test on a request path as sent (":path" of an HTTP/2 stream). */
  matchesPath(path: string | undefined): boolean;
  handle(req: Request, res: Response): void;
}

/**
 * The HTTP side of the Lambda-style JSON endpoint: POST only (405
 * otherwise), content-type application/json only (415 otherwise: a browser
 * form or a no-preflight fetch cannot send it, so no cross-site request
 * reaches the API), the body a JSON object, 200 with a JSON body on
 * success, 400 with a plain-text message for anything the client got wrong
 * (a body too large or nested too deep included), 429 for a client over its
 * rate limit (the RPCs' budgets, charged by method class), 503 when the store
 * is unavailable, 500 for a server fault.
 */
export function compatEndpoint(options: CompatEndpointOptions): CompatEndpoint {
  const { path, logger } = options;
  return {
    matches: (req) => pathOf(req.url) === path,
    matchesPath: (requestPath) => pathOf(requestPath) === path,
    handle(req, res) {
      const started = performance.now();
      respond(req, res, options).then(
        (status) => logger.debug("compat request", { status, ms: Math.round(performance.now() - started) }),
        (error: unknown) => {
          logger.error("compat request failed", { error: String(error) });
          if (!res.headersSent) sendText(res, 500, "internal error");
        },
      );
    },
  };
}

async function respond(req: Request, res: Response, options: CompatEndpointOptions): Promise<number> {
  if (req.method !== "POST") {
    res.setHeader("allow", options.allow ?? "POST");
    return refuse(req, res, 405, `method ${req.method ?? ""} not allowed: send POST with a JSON body`);
  }
  if (!isJsonContentType(req.headers["content-type"])) {
    return refuse(req, res, 415, "the request body must be JSON, sent with content-type: application/json");
  }
  let read;
  try {
    read = await readBody(req, options.maxBodyBytes);
  } catch {
    return 0; // the client went away; nobody to answer
  }
  if (!read.ok) {
    return refuse(req, res, 400, `request body is larger than ${options.maxBodyBytes} bytes (max-request-bytes)`);
  }
  const text = read.body.toString("utf8");
  const tooDeep = nestsDeeperThan(text, options.maxJsonDepth);
  const parsed = tooDeep ? undefined : parseJson(text);
  const { rateLimit } = options;
  const refusal = rateLimit?.limiter.charge(compatMethodClass(parsed?.value), rateLimit.clientAddress(req));
  if (refusal) return sendRefusal(res, refusal, options);
  if (tooDeep) {
    return sendText(res, 400, `request body nests arrays and objects deeper than ${options.maxJsonDepth} levels (compat-max-json-depth)`);
  }
  if (!parsed) return sendText(res, 400, "request body is not valid JSON");
  let result: JsonValue;
  try {
    result = await options.api(parsed.value);
  } catch (error) {
    const connectError = ConnectError.from(error);
    const setting = limitSettingOf(connectError);
    if (setting !== undefined) options.onLimitRejection?.(setting);
    const status = statusOf(connectError.code);
    if (status === 500) options.logger.error("compat method failed", { error: String(error) });
    return sendText(res, status, status === 500 ? "internal error" : connectError.rawMessage);
  }
  const body = JSON.stringify(result);
  (res as http.ServerResponse).writeHead(200, { "content-type": "application/json" });
  res.end(body);
  return 200;
}

/** application/json, with or without parameters (charset=utf-8). */
function isJsonContentType(header: string | undefined): boolean {
  return (header ?? "").split(";", 1)[0]!.trim().toLowerCase() === "application/json";
}

/** Answers before the body is read, ending the exchange so the client stops uploading. */
function refuse(req: Request, res: Response, status: number, message: string): number {
  endUnreadRequest(req, res);
  return sendText(res, status, message);
}

function statusOf(code: Code): number {
  switch (code) {
    case Code.Unavailable:
      return 503;
    case Code.Internal:
    case Code.Unknown:
    case Code.DataLoss:
    case Code.Unimplemented:
      return 500;
    default:
      return 400;
  }
}

/**
 * A request refused by a rate limit: 429 with the message naming the setting (plain text, as every error of this
 * endpoint), `retry-after` in seconds and the setting in `switchboard-limit`, as an RPC refusal carries them.
 */
function sendRefusal(res: Response, refusal: ConnectError, options: CompatEndpointOptions): number {
  const setting = limitSettingOf(refusal) ?? "";
  options.onLimitRejection?.(setting);
  res.setHeader(retryAfterHeader, refusal.metadata.get(retryAfterHeader) ?? "1");
  res.setHeader(limitSettingHeader, setting);
  return sendText(res, 429, refusal.rawMessage);
}

function sendText(res: Response, status: number, message: string): number {
  (res as http.ServerResponse).writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(message);
  return status;
}
