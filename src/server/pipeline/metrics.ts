import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { limitSettingOf } from "../../service/limit-error.js";
import type { HistogramCell, ValueCell } from "../metrics/cell-metric.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { CallPolicy } from "./policy.js";
import { callProtocol, protocolNames } from "./protocol.js";

const codeCount = 17;
/** The `code` label values: "ok" and Connect's code strings ("not_found", "resource_exhausted", …). */
const codeNames = Array.from({ length: codeCount }, (_, code) => (code === 0 ? "ok" : codeToString(code as Code)));

/** The cells of one method, made on its first call and kept: a call only bumps numbers. */
class MethodCells {
  private readonly requests: (ValueCell | undefined)[] = new Array<ValueCell | undefined>(protocolNames.length * codeCount);
  readonly duration: HistogramCell;

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly service: DescService,
    private readonly method: DescMethod,
    /** The open-streams cell, for a server-streaming method of a service that has a kind. */
    readonly streams: ValueCell | undefined,
  ) {
    this.duration = metrics.rpcDuration.cell(service.typeName, method.name);
  }

  requestCell(protocol: number, code: number): ValueCell {
    const i = protocol * codeCount + code;
    return (this.requests[i] ??= this.metrics.rpcRequests.cell(this.service.typeName, this.method.name, protocolNames[protocol]!, codeNames[code]!));
  }
}

/**
 * Counts every call by service, method, protocol and code, times it per
 * method, counts open server streams by kind (`streamKinds`: service type
 * name → kind) and limit refusals by setting. Per call: a map lookup, two
 * clock reads and a few increments.
 */
export function rpcMetrics(metrics: ServerMetrics, streamKinds: ReadonlyMap<string, string>): CallPolicy<{ cells: MethodCells; at: number; timed: boolean }> {
  const byMethod = new Map<DescMethod, MethodCells>();
  const cellsOf = (service: DescService, method: DescMethod): MethodCells => {
    let cells = byMethod.get(method);
    if (!cells) {
      const kind = method.methodKind === "server_streaming" ? streamKinds.get(service.typeName) : undefined;
      cells = new MethodCells(metrics, service, method, kind === undefined ? undefined : metrics.openStreams.cell(kind));
      byMethod.set(method, cells);
    }
    return cells;
  };
  return {
    enter(req) {
      const cells = cellsOf(req.service, req.method);
      if (cells.streams) cells.streams.value++;
      return { cells, at: performance.now(), timed: false };
    },
    // A stream's duration is the time to its first message; a unary call's, or a stream's without one, to its end.
    firstMessage(_req, call) {
      call.timed = true;
      call.cells.duration.observe((performance.now() - call.at) / 1000);
    },
    exit(req, call, error) {
      const cells = call.cells;
      if (!call.timed) cells.duration.observe((performance.now() - call.at) / 1000);
      if (cells.streams) cells.streams.value--;
      const protocol = callProtocol(req);
      if (error === undefined) {
        cells.requestCell(protocol, 0).value++;
        return;
      }
      const connectError = ConnectError.from(error);
      cells.requestCell(protocol, connectError.code).value++;
      const setting = connectError.code === Code.ResourceExhausted ? limitSettingOf(connectError) : undefined;
      if (setting !== undefined) metrics.limitRejection(setting).value++;
    },
  };
}
