import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/health/v1/health_pb.js";
import type { RunningServer } from "../src/server/app.js";
import type { Config } from "../src/server/config.js";
import { loadConfig, settings } from "../src/server/config.js";
import { livenessService } from "../src/server/health/health-status.js";
import { commandNodeFlags } from "../src/server/node-flags.js";
import { lastStep, parseDockerfile, stageEnv } from "../scripts/lib/dockerfile.js";
import { startTestServer, transportFor } from "./support/test-server.js";
import { revealed } from "../src/lib/secret.js";
import { repoRoot } from "./support/tools.js";

// Manifests are untyped YAML and JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = any;

const deploy = join(repoRoot, "deploy");
const read = (path: string) => readFileSync(join(repoRoot, path), "utf8");

/** Every environment variable the server reads: each setting's and its conventional alias, and Node's NODE_ENV. */
const settingVariables = new Set([
  "NODE_ENV",
  ...Object.values(settings).flatMap((s) => [s.env, ...("envAlias" in s && s.envAlias ? [s.envAlias] : [])]),
]);

/** The config the server builds from exactly this environment and no flags (throws as the server would refuse to start). */
function configFrom(env: Record<string, string>): Config {
  for (const name of Object.keys(env)) expect(settingVariables, `${name} is not a setting of the server`).toContain(name);
  const result = loadConfig([], env);
  if (result.help) throw new Error("unreachable");
  return result.config;
}

/** Seconds in a Compose duration such as "15s" or "1m30s". */
function seconds(duration: string): number {
  const match = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!match || duration === "") throw new Error(`not a duration: ${duration}`);
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

/** Time the server needs after SIGTERM at most: the grace period, then up to 1 s for cut calls and 1 s for connections to flush. */
const stopSeconds = (config: Config) => config.shutdownGraceMs / 1000 + 2;

const dockerfile = parseDockerfile(read("Dockerfile"));
const nodeFlags = commandNodeFlags(join(repoRoot, "src/server/cli.ts"));
const runtime = dockerfile.at(-1)!;

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.shutdown(0));

describe("Dockerfile", () => {
  it("exposes the port the image's environment sets, and its health check is the server's own module", () => {
    const config = configFrom(stageEnv(runtime));
    expect(lastStep(runtime, "expose")?.port).toBe(config.port);
    expect(lastStep(runtime, "healthcheck")?.command).toEqual(["node", "dist/src/server/healthcheck.js"]);
    expect(existsSync(join(repoRoot, "src/server/healthcheck.ts"))).toBe(true);
    expect(lastStep(runtime, "entrypoint")?.command).toEqual(["node", ...nodeFlags, "dist/src/server/cli.js"]);
    expect(lastStep(runtime, "user")?.user).toMatch(/^[1-9]\d*(:\d+)?$/);
  });
});

describe("the Node flags of the command", () => {
  it("are the same however the server is started: the switchboard command, npm start, the image", () => {
    // The young generation's cap (docs/benchmarks.md, "Idle streams: the young generation").
    expect(nodeFlags).toContain("--max-semi-space-size=16");
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
    expect(scripts["start"]).toMatch(new RegExp(` node ${nodeFlags.join(" ")} dist/src/server/cli\\.js$`));
    expect(lastStep(runtime, "entrypoint")?.command.slice(1, -1)).toEqual(nodeFlags);
  });
});

describe("deploy/compose.yaml", () => {
  const compose: Manifest = parse(read("deploy/compose.yaml"), { merge: true });
  const instances = Object.entries(compose.services as Record<string, Manifest>).filter(([, s]) => s.image === "switchboard:local");
  const caddyfile = read("deploy/Caddyfile");

  it("runs two Switchboard instances whose environment the server accepts, on a MongoDB replica set with change streams", () => {
    expect(instances.map(([name]) => name)).toEqual(["switchboard-1", "switchboard-2"]);
    for (const [, service] of instances) {
      const config = configFrom(service.environment);
      expect(config.store).toBe("mongodb");
      expect(config.mongodb.watchMode).toBe("change-stream");
      expect(service.build).toEqual({ context: "..", dockerfile: "Dockerfile" });
      expect(existsSync(join(deploy, service.build.context, service.build.dockerfile))).toBe(true);
    }
  });

  it("names in the URI exactly the three replica set members the compose file starts and initiates", () => {
    const config = configFrom(instances[0]![1].environment);
    const uri = revealed(config.mongodb.uri);
    const hosts = /^mongodb:\/\/([^/?]+)/.exec(uri)![1]!.split(",");
    const replicaSet = new URLSearchParams(uri.split("?")[1]).get("replicaSet");
    expect(hosts).toHaveLength(3);
    for (const host of hosts) {
      const [name, port] = host.split(":");
      const member = compose.services[name!];
      expect(member.command).toEqual(["mongod", "--replSet", replicaSet, "--bind_ip_all", "--port", port]);
      expect(member.healthcheck.test).toContain("mongosh");
    }
    const init = compose.services["mongo-init"];
    const script: string = init.command.at(-1);
    expect(script).toContain(`_id: "${replicaSet}"`);
    for (const host of hosts) expect(script).toContain(`host: "${host}"`);
    for (const [, service] of instances) expect(service.depends_on["mongo-init"].condition).toBe("service_completed_successfully");
  });

  it("health-checks each instance with the image's check, and gives it longer to stop than the server takes", () => {
    for (const [, service] of instances) {
      const config = configFrom(service.environment);
      expect(service.healthcheck.test).toEqual(["CMD", ...lastStep(runtime, "healthcheck")!.command]);
      expect(seconds(service.stop_grace_period)).toBeGreaterThan(stopSeconds(config));
    }
  });

  it("balances over h2c to every instance's port, checking the /healthz the server serves", async () => {
    const upstreams = [...caddyfile.matchAll(/h2c:\/\/([\w-]+):(\d+)/g)].map((m) => ({ service: m[1]!, port: Number(m[2]) }));
    expect(upstreams.map((u) => u.service)).toEqual(instances.map(([name]) => name));
    for (const upstream of upstreams) expect(upstream.port).toBe(configFrom(compose.services[upstream.service].environment).port);
    expect(caddyfile).toMatch(/protocols h1 h2c/);
    const healthUri = /health_uri (\S+)/.exec(caddyfile)![1]!;
    expect((await fetch(`${server.url}${healthUri}`)).status).toBe(200);

    const lb = compose.services["lb"];
    expect(lb.volumes).toContain("./Caddyfile:/etc/caddy/Caddyfile:ro");
    const published = Number(String(lb.ports[0]).split(":")[1]);
    expect(caddyfile).toContain(`servers :${published}`);
    expect(caddyfile).toMatch(new RegExp(`^:${published} \\{`, "m"));
  });
});

describe("deploy/kubernetes", () => {
  const dir = join(deploy, "kubernetes");
  const manifests: Manifest[] = [...readdirSync(dir), ...readdirSync(join(dir, "examples")).map((f) => join("examples", f))]
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), "utf8")).map((d) => d.toJS()));
  const byKind = (kind: string): Manifest => {
    const found = manifests.filter((m) => m.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0];
  };
  const deployment = byKind("Deployment");
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const secret = byKind("Secret");

  /** The container's environment, with secret references resolved from the example Secret. */
  function containerEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const entry of container.env) {
      if (entry.value !== undefined) env[entry.name] = entry.value;
      else env[entry.name] = secret.stringData[entry.valueFrom.secretKeyRef.key];
    }
    return env;
  }

  it("sets only variables the server reads, with values it accepts; the MongoDB URI and TURN secret come from the Secret", () => {
    const config = configFrom(containerEnv());
    expect(config.store).toBe("mongodb");
    expect(config.ice.turnRest?.urls).toEqual([secret.stringData["turn-rest-urls"]]);
    for (const name of ["SWITCHBOARD_MONGODB_URI", "SWITCHBOARD_TURN_REST_SECRET"]) {
      const ref = container.env.find((e: Manifest) => e.name === name).valueFrom.secretKeyRef;
      expect(ref.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData)).toContain(ref.key);
    }
  });

  it("probes grpc.health.v1 on the serving port: readiness on the whole server, liveness on `liveness`, both SERVING on a real server", async () => {
    const config = configFrom(containerEnv());
    const port = container.ports.find((p: Manifest) => p.name === "http");
    expect(port.containerPort).toBe(config.port);
    expect(container.readinessProbe.grpc).toEqual({ port: config.port, service: "" });
    expect(container.livenessProbe.grpc).toEqual({ port: config.port, service: livenessService });
    const health = createClient(Health, transportFor("grpc", server.url));
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect((await health.check({ service: probe.grpc.service })).status).toBe(Status.SERVING);
    }
  });

  it("gives a pod time for the preStop pause and the server's whole graceful stop", () => {
    const config = configFrom(containerEnv());
    const preStop = container.lifecycle.preStop.sleep.seconds;
    expect(preStop).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + stopSeconds(config));
  });

  it("runs as a non-root user on a read-only root filesystem, with resource requests", () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
  });

  it("exposes the container port through a Service marked h2c, a PodDisruptionBudget and an autoscaler on the same pods", () => {
    const labels = deployment.spec.template.metadata.labels;
    const service = byKind("Service");
    expect(service.spec.selector).toEqual(labels);
    expect(service.spec.ports).toEqual([expect.objectContaining({ targetPort: "http", appProtocol: "kubernetes.io/h2c" })]);
    const pdb = byKind("PodDisruptionBudget");
    expect(pdb.spec.selector.matchLabels).toEqual(labels);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    const hpa = byKind("HorizontalPodAutoscaler");
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThan(pdb.spec.minAvailable);
  });
});

describe("deploy/grafana/switchboard.json", () => {
  /** The agreed metric names and their labels (the brief's list; prom-client's defaults apart). */
  const agreed: Record<string, readonly string[]> = {
    switchboard_rpc_requests_total: ["service", "method", "protocol", "code"],
    switchboard_rpc_duration_seconds: ["service", "method", "le"],
    switchboard_open_streams: ["kind"],
    switchboard_live_channels: [],
    switchboard_live_rooms: [],
    switchboard_room_members: [],
    switchboard_store_operation_duration_seconds: ["store", "operation", "le"],
    switchboard_store_operation_errors_total: ["store", "operation"],
    switchboard_limit_rejections_total: ["setting"],
  };
  const processMetrics = ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_p99_seconds"];
  const dashboard = JSON.parse(read("deploy/grafana/switchboard.json")) as Manifest;
  const targets: { expr: string }[] = dashboard.panels.flatMap((p: Manifest) => p.targets ?? []);

  it("queries only agreed metrics, with their labels, and draws every one of them", () => {
    const used = new Set<string>();
    for (const { expr } of targets) {
      for (const [name] of expr.matchAll(/\b(?:switchboard|process|nodejs)_[a-z0-9_]+\b/g)) {
        const metric = name.replace(/_bucket$/, "");
        expect([...Object.keys(agreed), ...processMetrics], `${metric} in ${expr}`).toContain(metric);
        used.add(metric);
      }
      const metric = /switchboard_[a-z_]+/.exec(expr)?.[0].replace(/_bucket$/, "");
      for (const [, labels] of expr.matchAll(/by \(([^)]*)\)/g)) {
        for (const label of labels!.split(",").map((l) => l.trim())) expect(agreed[metric!], `${label} in ${expr}`).toContain(label);
      }
    }
    expect([...used].sort()).toEqual([...Object.keys(agreed), ...processMetrics].sort());
  });

  it("draws only metrics the server exposes at GET /metrics", async () => {
    const exposition = await (await fetch(`${server.url}/metrics`)).text();
    for (const metric of [...Object.keys(agreed), ...processMetrics]) expect(exposition).toMatch(new RegExp(`^# TYPE ${metric} `, "m"));
  });

  it("shows requests, errors, latency p50 and p99 from the histogram, open streams and store latency", () => {
    const titles: string[] = dashboard.panels.map((p: Manifest) => p.title);
    for (const title of ["Requests per second by method", "Errors per second by status code", "Latency p50 by method", "Latency p99 by method", "Open streams by kind", "Store latency p50 and p99 by operation"]) {
      expect(titles).toContain(title);
    }
    expect(targets.map((t) => t.expr)).toContainEqual(expect.stringContaining("histogram_quantile(0.99, sum by (le, method) (rate(switchboard_rpc_duration_seconds_bucket"));
    expect(dashboard.uid).toBe("switchboard");
  });
});
