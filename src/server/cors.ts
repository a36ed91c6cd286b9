import { cors as connectCors } from "@connectrpc/connect";
import corsMiddleware from "cors";
import { limitSettingHeader, retryAfterHeader } from "../service/limit-error.js";
import type { RequestHandler } from "./listener.js";

/** How long a browser may cache a preflight answer, in seconds (Chromium caps it at 7200). */
const preflightMaxAgeSeconds = 7200;

/**
 * Wraps `next` so browsers on `allowedOrigins` may call it from another
 * origin: preflights are answered here, actual responses get the CORS headers
 * Connect, gRPC-Web and gRPC need (the lists `@connectrpc/connect` exports).
 * A request from any other origin, or with no Origin header, passes through
 * without a single CORS header. With no allowed origins, `next` is returned
 * as it is: CORS stays closed.
 */
export function withCors(allowedOrigins: readonly string[], next: RequestHandler): RequestHandler {
  if (allowedOrigins.length === 0) return next;
  const anyOrigin = allowedOrigins.includes("*");
  const allowed = new Set(allowedOrigins);
  const middleware = corsMiddleware({
    origin: (origin, callback) => {
      if (origin === undefined || !(anyOrigin || allowed.has(origin))) return callback(null, false);
      callback(null, anyOrigin ? "*" : origin);
    },
    methods: [...connectCors.allowedMethods],
    // W3C trace context too, so a browser's OpenTelemetry instrumentation can join its traces to ours.
    allowedHeaders: [...connectCors.allowedHeaders, "traceparent", "tracestate"],
    // A refused call's limit and when to retry, readable by the page's script too.
    exposedHeaders: [...connectCors.exposedHeaders, limitSettingHeader, retryAfterHeader],
    maxAge: preflightMaxAgeSeconds,
  });
  return (req, res) => middleware(req as never, res, () => next(req, res));
}

/** Parses `--cors-allowed-origins`: a comma-separated list of origins, or `*`; empty for none. */
export function parseOrigins(text: string): readonly string[] {
  const origins = text
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "");
  for (const origin of origins) {
    if (origin !== "*" && !isOrigin(origin)) {
      throw new Error(`"${origin}" is not an origin; write scheme://host[:port] with no path, e.g. https://app.example.com`);
    }
  }
  return origins;
}

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === text;
  } catch {
    return false;
  }
}
