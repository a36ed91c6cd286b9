import type * as http from "node:http";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { ContextValues, HandlerContext } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Broadcast } from "../../lib/broadcast.js";
import type { Exchange } from "./exchange.js";

/** The signal reason of a call that ended normally (one object: no DOMException per call, connect-es #1580). */
const callEnded = new ConnectError("the call has ended", Code.Canceled);
const clientGone = new ConnectError("the client closed the request", Code.Canceled);
const deadlineExceeded = () => new ConnectError("the operation timed out", Code.DeadlineExceeded);

/** Calls whose client left, aborted this many per turn of the event loop (see OpenCalls.abortSoon). */
const abortsPerTurn = 64;

/** Calls whose signal exists, so one listener on the shutdown signal reaches them all. */
export class OpenCalls {
  private readonly calls = new Set<CallContext>();
  private shutdownReason: unknown;
  private down = false;
  private leaving: CallContext[] = [];
  private leavingHead = 0;

  constructor(shutdown: Broadcast<ConnectError>) {
    shutdown.add((reason) => {
      this.down = true;
      this.shutdownReason = reason;
      for (const call of [...this.calls]) call.abort(reason);
    });
  }

  /** The shutdown reason once the server is shutting down. */
  get shuttingDown(): { reason: unknown } | undefined {
    return this.down ? { reason: this.shutdownReason } : undefined;
  }

  add(call: CallContext): void {
    this.calls.add(call);
  }

  delete(call: CallContext): void {
    this.calls.delete(call);
  }

  /**
   * Aborts `call` (its client left) on a later turn of the event loop, a
   * bounded number per turn. Clients that leave together (thousands of
   * watch streams reset at once, a connection with hundreds of streams
   * dropped) arrive in one read of the sockets; ending all their calls in
   * that turn (every stream's generator, finally blocks, store
   * unsubscription) kept every other request waiting for seconds. In
   * slices, requests read meanwhile are served between them.
   */
  abortSoon(call: CallContext): void {
    if (this.leaving.push(call) === 1) setImmediate(this.abortSome);
  }

  private readonly abortSome = () => {
    const leaving = this.leaving;
    const until = Math.min(leaving.length, this.leavingHead + abortsPerTurn);
    while (this.leavingHead < until) {
      const call = leaving[this.leavingHead]!;
      leaving[this.leavingHead++] = undefined as never;
      call.abort(clientGone);
    }
    if (this.leavingHead < leaving.length) {
      setImmediate(this.abortSome);
      return;
    }
    this.leaving = [];
    this.leavingHead = 0;
  };
}

/**
 * A Connect `HandlerContext` that builds what it holds only when asked:
 * the abort signal (with its deadline timer, client-close and shutdown
 * links), the request `Headers` and the response header and trailer
 * `Headers`. Most unary calls never touch them; a watch stream needs only
 * the signal. Semantics follow connect-es's `createHandlerContext`: the
 * signal fires on deadline, client close, server shutdown and at the end of
 * the call.
 */
export class CallContext implements HandlerContext {
  private fullUrl: string | undefined;
  private controller: AbortController | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly deadline: number | undefined;
  private ended = false;
  private reqHeader: Headers | undefined;
  private resHeader: Headers | undefined;
  private resTrailer: Headers | undefined;

  constructor(
    readonly method: DescMethod,
    readonly protocolName: string,
    private readonly exchange: Exchange,
    readonly values: ContextValues,
    timeoutMs: number | undefined,
    private readonly openCalls: OpenCalls,
  ) {
    // Whole milliseconds, as connect-es's Date-based deadline gives (gRPC timeouts may be fractional).
    this.deadline = timeoutMs === undefined ? undefined : Math.trunc(Date.now() + timeoutMs);
  }

  get service(): DescService {
    return this.method.parent;
  }

  /** The request URL as connect-node gives it: scheme, authority and path. */
  get url(): string {
    return (this.fullUrl ??= this.exchange.url);
  }

  get requestMethod(): string {
    return this.exchange.method ?? "POST";
  }

  readonly timeoutMs = (): number | undefined => (this.deadline === undefined ? undefined : this.deadline - Date.now());

  get signal(): AbortSignal {
    return (this.controller ??= this.link()).signal;
  }

  get requestHeader(): Headers {
    return (this.reqHeader ??= nodeHeaders(this.exchange.headers));
  }

  get responseHeader(): Headers {
    return (this.resHeader ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.resTrailer ??= new Headers());
  }

  /** The response headers set so far, without creating them. */
  get responseHeaderIfAny(): Headers | undefined {
    return this.resHeader;
  }

  get responseTrailerIfAny(): Headers | undefined {
    return this.resTrailer;
  }

  /** Fires the signal (if anyone holds it) with `reason`, and stops the deadline timer. */
  abort(reason: unknown): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.openCalls.delete(this);
    if (this.controller && !this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** The call is over: the signal, if created, fires so anything still listening lets go. */
  end(): void {
    this.ended = true;
    this.exchange.offClose(this.onClose);
    this.abort(callEnded);
  }

  private readonly onClose = () => {
    if (!this.ended) this.openCalls.abortSoon(this);
  };

  private link(): AbortController {
    const controller = new AbortController();
    this.controller = controller;
    const down = this.openCalls.shuttingDown;
    if (this.ended) controller.abort(callEnded);
    else if (down) controller.abort(down.reason);
    else if (this.exchange.closed) controller.abort(clientGone);
    else if (this.deadline !== undefined && this.deadline <= Date.now()) controller.abort(deadlineExceeded());
    else {
      if (this.deadline !== undefined) {
        this.deadlineTimer = setTimeout(() => this.abort(deadlineExceeded()), this.deadline - Date.now());
      }
      this.exchange.onClose(this.onClose); // on, not once: end() takes it off, and once() adds a wrapper per call
      this.openCalls.add(this);
    }
    return controller;
  }
}

/** Node's header object as fetch `Headers` (what interceptors and handlers read). */
export function nodeHeaders(incoming: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(incoming)) {
    if (key.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(key, v);
    else headers.set(key, value);
  }
  return headers;
}

/** `Headers` as a plain object for `writeHead`, adding to `into`. */
export function headerObject(headers: Headers | undefined, into: Record<string, string | string[]>, prefix = ""): Record<string, string | string[]> {
  headers?.forEach((value, key) => {
    const name = prefix + key;
    const had = into[name];
    into[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  });
  return into;
}
