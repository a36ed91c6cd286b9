import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, MethodImplSpec } from "@connectrpc/connect";
import { createServiceImplSpec } from "@connectrpc/connect";
import { createMethodUrl } from "@connectrpc/connect/protocol";

/** A method the lean path may serve: unary or server-streaming. */
export type LeanMethodSpec = Extract<MethodImplSpec, { kind: "unary" | "server_streaming" }>;

/**
 * The methods the lean path serves, by request path ("/pkg.Service/Method"),
 * taken from the very registrations connect-node's router gets: `record`
 * wraps the router handed to the routes function, so both routes call the
 * same implementation objects and nothing is registered twice by hand.
 */
export class RouteTable {
  private readonly methods = new Map<string, LeanMethodSpec>();

  /** @param services the services whose unary and server-streaming methods may go the lean way. */
  constructor(private readonly services: ReadonlySet<DescService>) {}

  get(path: string | undefined): LeanMethodSpec | undefined {
    return path === undefined ? undefined : this.methods.get(path);
  }

  get size(): number {
    return this.methods.size;
  }

  /** A router that registers on `router` and notes each method of the services this table serves. */
  record(router: ConnectRouter): ConnectRouter {
    const table = this;
    const recording: ConnectRouter = {
      get handlers() {
        return router.handlers;
      },
      service(service, implementation, options) {
        router.service(service, implementation, options);
        if (table.services.has(service)) table.add(createServiceImplSpec(service, implementation as never).methods);
        return recording;
      },
      rpc(method, impl, options) {
        router.rpc(method, impl, options);
        return recording;
      },
    };
    return recording;
  }

  private add(methods: Record<string, MethodImplSpec>): void {
    for (const spec of Object.values(methods)) {
      if (spec.kind === "unary" || spec.kind === "server_streaming") this.methods.set(createMethodUrl("/", spec.method), spec);
    }
  }
}
