import * as http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import type { ConfigOverrides } from "./support/test-server.js";
import { startTestServer } from "./support/test-server.js";

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.shutdown(0);
  server = undefined;
});

async function start(overrides: ConfigOverrides = {}): Promise<string> {
  server = await startTestServer(overrides);
  return server.url;
}

/** GET / with a Host header of our choosing (fetch would not let us set it). */
function getRoot(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/", headers: { host, accept: "text/html" } }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

describe("GET /", () => {
  it("shows a browser a short page that links the demo and health and shows grpcurl for this address", async () => {
    const url = await start();
    const res = await fetch(`${url}/`, { headers: { accept: "text/html,application/xhtml+xml" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const page = await res.text();
    expect(page).toContain('<a href="/demo">');
    expect(page).toContain('<a href="/healthz">');
    expect(page).toContain(`grpcurl -plaintext ${new URL(url).host} list`);
    expect(page).toContain("docs/");
  });

  it("answers curl in plain text, and mentions the JSON endpoint that POST / is when it is on", async () => {
    const url = await start({ compatPath: "/" });
    const res = await fetch(`${url}/`);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const text = await res.text();
    expect(text).toContain(`grpcurl -plaintext ${new URL(url).host} describe signaling.v1.SignalingService`);
    expect(text).toContain("POST / with");
  });

  it("leaves out the demo when it is off, and the JSON endpoint when it is elsewhere", async () => {
    const url = await start({ demo: false, compatPath: "/signal" });
    const text = await (await fetch(`${url}/`)).text();
    expect(text).not.toContain("/demo");
    expect(text).not.toContain("POST /");
    expect((await fetch(`${url}/`, { method: "POST", body: "{}" })).status).toBe(404);
  });

  it("never echoes a Host header that is not a host name into the page", async () => {
    await start();
    const reply = await getRoot(server!.port, "<script>alert(1)</script>");
    expect(reply.status).toBe(200);
    expect(reply.body).not.toContain("<script>");
    expect(reply.body).toContain("grpcurl -plaintext &#60;host&#62;:&#60;port&#62; list");
  });

  it("answers HEAD without a body", async () => {
    const url = await start();
    const res = await fetch(`${url}/`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });
});
