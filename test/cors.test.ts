import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { ConfigError, loadConfig } from "../src/server/config.js";
import { startTestServer } from "./support/test-server.js";

const app = "http://app.example.test:5173";
const createChannel = "/signaling.v1.SignalingService/CreateChannel";

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.shutdown(0);
  server = undefined;
});

function preflight(origin: string, requestHeaders = "content-type,connect-protocol-version,connect-timeout-ms"): Promise<Response> {
  return fetch(server!.url + createChannel, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": requestHeaders },
  });
}

function connectCall(origin: string): Promise<Response> {
  return fetch(server!.url + createChannel, {
    method: "POST",
    headers: { origin, "content-type": "application/json", "connect-protocol-version": "1" },
    body: "{}",
  });
}

function corsHeaders(res: Response): Record<string, string> {
  const found: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (name.startsWith("access-control-")) found[name] = value;
  });
  return found;
}

describe("CORS", () => {
  describe("with no allowed origins (the default)", () => {
    it("answers a preflight without any CORS header, so browsers refuse cross-origin calls", async () => {
      server = await startTestServer();
      const res = await preflight(app);
      expect(corsHeaders(res)).toEqual({});
    });

    it("serves a call carrying an Origin without any CORS header", async () => {
      server = await startTestServer();
      const res = await connectCall(app);
      expect(res.status).toBe(200);
      expect(corsHeaders(res)).toEqual({});
    });
  });

  describe("with an allowed origin", () => {
    it("answers its preflight with 204 and every method and header Connect and gRPC-Web send", async () => {
      server = await startTestServer({ corsAllowedOrigins: [app] });
      const res = await preflight(app, "content-type,x-grpc-web,x-user-agent,grpc-timeout");
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(app);
      expect(res.headers.get("vary")).toMatch(/origin/i);
      expect(res.headers.get("access-control-allow-methods")?.split(",")).toEqual(expect.arrayContaining(["POST", "GET"]));
      const allowed = res.headers.get("access-control-allow-headers")?.toLowerCase().split(",") ?? [];
      expect(allowed).toEqual(
        expect.arrayContaining(["content-type", "connect-protocol-version", "connect-timeout-ms", "x-grpc-web", "x-user-agent", "grpc-timeout", "traceparent", "tracestate"]),
      );
      expect(res.headers.get("access-control-max-age")).toBe("7200");
    });

    it("gives its actual call the origin and the gRPC status headers to read", async () => {
      server = await startTestServer({ corsAllowedOrigins: ["https://other.example.test", app] });
      const res = await connectCall(app);
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe(app);
      const exposed = res.headers.get("access-control-expose-headers")?.toLowerCase().split(",") ?? [];
      expect(exposed).toEqual(expect.arrayContaining(["grpc-status", "grpc-message", "grpc-status-details-bin"]));
    });

    it("lets a browser app on that origin use the Lambda-style JSON endpoint: preflight, then the call", async () => {
      server = await startTestServer({ corsAllowedOrigins: [app], compatPath: "/" });
      const compatUrl = `${server.url}/`;
      const pre = await fetch(compatUrl, {
        method: "OPTIONS",
        headers: { origin: app, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBe(app);
      const res = await fetch(compatUrl, {
        method: "POST",
        headers: { origin: app, "content-type": "application/json" },
        body: JSON.stringify({ method: "create_data_channel" }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe(app);
      expect(await res.json()).toEqual({ channel_id: expect.any(String) });
    });

    it("gives a different origin no CORS header at all, on preflight or call", async () => {
      server = await startTestServer({ corsAllowedOrigins: [app] });
      expect(corsHeaders(await preflight("http://evil.example.test"))).toEqual({});
      const res = await connectCall("http://evil.example.test");
      expect(corsHeaders(res)).toEqual({});
    });

    it("does not treat a look-alike origin (other port or scheme) as allowed", async () => {
      server = await startTestServer({ corsAllowedOrigins: [app] });
      expect(corsHeaders(await preflight("http://app.example.test:5174"))).toEqual({});
      expect(corsHeaders(await preflight("https://app.example.test:5173"))).toEqual({});
    });
  });

  it("with `*` allows any origin with a wildcard", async () => {
    server = await startTestServer({ corsAllowedOrigins: ["*"] });
    const res = await preflight("http://anything.example.test");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect((await connectCall("http://anything.example.test")).headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("--cors-allowed-origins", () => {
  const parse = (value: string) => {
    const result = loadConfig(["--cors-allowed-origins", value], {});
    if (result.help) throw new Error("unexpected help");
    return result.config.corsAllowedOrigins;
  };

  it("is empty by default, so CORS is closed", () => {
    const result = loadConfig([], {});
    expect(result.help === false && result.config.corsAllowedOrigins).toEqual([]);
  });

  it("takes an empty value for no origin", () => {
    expect(parse("")).toEqual([]);
  });

  it("reads a comma-separated list, from the flag or SWITCHBOARD_CORS_ALLOWED_ORIGINS", () => {
    expect(parse("https://app.example.com, http://localhost:5173")).toEqual(["https://app.example.com", "http://localhost:5173"]);
    const fromEnv = loadConfig([], { SWITCHBOARD_CORS_ALLOWED_ORIGINS: "*" });
    expect(fromEnv.help === false && fromEnv.config.corsAllowedOrigins).toEqual(["*"]);
  });

  it("rejects something that is not an origin, naming the flag and the value", () => {
    expect(() => parse("https://app.example.com/path")).toThrow(ConfigError);
    expect(() => parse("https://app.example.com/path")).toThrow(/--cors-allowed-origins.*https:\/\/app\.example\.com\/path/s);
    expect(() => parse("app.example.com")).toThrow(/not an origin/);
  });
});
