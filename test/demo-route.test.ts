import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { startTestServer } from "./support/test-server.js";

let built: string;
let server: RunningServer | undefined;

beforeAll(async () => {
  built = await mkdtemp(join(tmpdir(), "switchboard-demo-route-"));
  await writeFile(join(built, "index.html"), "<!doctype html><html><head><title>demo</title></head></html>");
  await writeFile(join(built, "demo.js"), "console.log('demo');");
});
afterAll(() => rm(built, { recursive: true, force: true }));
afterEach(async () => {
  await server?.shutdown(0);
  server = undefined;
});

describe("/demo", () => {
  it("serves the page and its script when the demo is on (the default)", async () => {
    server = await startTestServer({}, { demoDir: built });
    const page = await fetch(`${server.url}/demo?channel=abc`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toContain("<title>demo</title>");
    const script = await fetch(`${server.url}/demo/demo.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await script.text()).toBe("console.log('demo');");
  });

  it("lets the page call only its own origin, or exactly the origins in --demo-api-origins (CSP connect-src and the page's meta)", async () => {
    server = await startTestServer({}, { demoDir: built });
    const own = await fetch(`${server.url}/demo?api=https://evil.example`);
    const policy = own.headers.get("content-security-policy") ?? "";
    expect(policy).toMatch(/(^|; )connect-src 'self'(;|$)/);
    expect(policy).not.toMatch(/https?:(?!\/)/);
    expect(await own.text()).toContain('<meta name="switchboard-api-origins" content="">');
    await server.shutdown(0);

    const origins = ["https://api.example.com", "http://127.0.0.1:9999"];
    server = await startTestServer({ demoApiOrigins: origins }, { demoDir: built });
    const allowed = await fetch(`${server.url}/demo`);
    expect(allowed.headers.get("content-security-policy")).toContain(`connect-src 'self' ${origins.join(" ")};`);
    expect(await allowed.text()).toContain(`<meta name="switchboard-api-origins" content="${origins.join(" ")}">`);
  });

  it("serves nothing with --demo off", async () => {
    server = await startTestServer({ demo: false }, { demoDir: built });
    const page = await fetch(`${server.url}/demo`);
    expect(page.status).toBe(404);
    expect(await page.text()).not.toContain("<title>demo</title>");
  });

  it("says how to build the demo when it is not built", async () => {
    server = await startTestServer({}, { demoDir: join(built, "missing") });
    const page = await fetch(`${server.url}/demo`);
    expect(page.status).toBe(404);
    expect(await page.text()).toMatch(/npm run build/);
  });

  it("answers other methods with 405", async () => {
    server = await startTestServer({}, { demoDir: built });
    const res = await fetch(`${server.url}/demo`, { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });
});
