import type { DescMessage } from "@bufbuild/protobuf";
import { create, isMessage } from "@bufbuild/protobuf";
import type { HandlerContext, Interceptor, UnaryRequest } from "@connectrpc/connect";
import type { CallContext } from "./call-context.js";
import type { LeanMethodSpec } from "./route-table.js";
import { onlyMessagesReplaced } from "../pipeline/call-end.js";

type AnyFn = Parameters<Interceptor>[0];
type AnyRequest = Parameters<AnyFn>[0];
type AnyResponse = Awaited<ReturnType<AnyFn>>;
type Message = UnaryRequest["message"];

/**
 * A server-streaming call's request and response as plain data objects. Every interceptor that wraps a stream
 * copies them (`{ ...req }`, `{ ...res }`), which reads each getter anyway, and an object literal with getters is
 * held in dictionary mode (about 450 bytes each, for as long as the stream is open).
 */
function streamRequest(message: unknown, ctx: CallContext): AnyRequest {
  return {
    stream: true,
    message,
    method: ctx.method,
    service: ctx.service,
    requestMethod: ctx.requestMethod,
    url: ctx.url,
    signal: ctx.signal,
    header: ctx.requestHeader,
    contextValues: ctx.values,
  } as AnyRequest;
}

function streamResponse(message: unknown, ctx: CallContext): AnyResponse {
  return { stream: true, message, method: ctx.method, service: ctx.service, header: ctx.responseHeader, trailer: ctx.responseTrailer } as AnyResponse;
}

/** What a unary call's request and response share: the message, the method and the call. */
abstract class LeanUnaryPart {
  readonly stream = false;
  readonly method: CallContext["method"];
  readonly service: CallContext["service"];

  constructor(
    readonly message: unknown,
    protected readonly ctx: CallContext,
  ) {
    this.method = ctx.method;
    this.service = ctx.service;
  }
}

/**
 * A unary call's request: connect-es's request shape, the call's lazy parts
 * (headers, signal, URL) as prototype getters, built only if read (an object
 * literal with getters makes three closures per call). Unary requests pass the pipeline unspread; should an interceptor
 * spread one anyway, contextFor falls back to the call's own parts.
 */
class LeanUnaryRequest extends LeanUnaryPart {
  readonly requestMethod = this.ctx.requestMethod;
  readonly contextValues = this.ctx.values;

  get url(): string {
    return this.ctx.url;
  }

  get signal(): AbortSignal {
    return this.ctx.signal;
  }

  get header(): Headers {
    return this.ctx.requestHeader;
  }
}

/** A unary call's response, its header and trailer made only if read. */
class LeanUnaryResponse extends LeanUnaryPart {
  get header(): Headers {
    return this.ctx.responseHeader;
  }

  get trailer(): Headers {
    return this.ctx.responseTrailer;
  }
}

/** The context the implementation sees: the call's, or — if an interceptor replaced parts of the request — merged as connect-es does. */
function contextFor(ctx: CallContext, req: AnyRequest, original: AnyRequest): HandlerContext {
  if (req === original || onlyMessagesReplaced(req, original)) return ctx;
  return new MergedContext(ctx, req);
}

/**
 * A class, not an object literal with getters: a watch stream's handler holds its context for as long as the
 * stream is open, and such a literal is kept in dictionary mode (over 800 bytes).
 */
class MergedContext implements HandlerContext {
  readonly method: HandlerContext["method"];
  readonly service: HandlerContext["service"];
  readonly requestMethod: string;
  readonly url: string;
  readonly protocolName: string;
  readonly timeoutMs: () => number | undefined;
  readonly signal: AbortSignal;
  readonly requestHeader: Headers;
  readonly values: HandlerContext["values"];

  constructor(
    private readonly ctx: CallContext,
    req: AnyRequest,
  ) {
    this.method = ctx.method;
    this.service = req.service;
    this.requestMethod = ctx.requestMethod;
    this.url = ctx.url;
    this.protocolName = ctx.protocolName;
    this.timeoutMs = ctx.timeoutMs;
    this.signal = req.signal;
    this.requestHeader = req.header;
    this.values = req.contextValues;
  }

  get responseHeader(): Headers {
    return this.ctx.responseHeader;
  }

  get responseTrailer(): Headers {
    return this.ctx.responseTrailer;
  }
}

/** Copies headers an interceptor returned in new objects into the call's (connect-es's copyHeaders). */
function adoptHeaders(ctx: CallContext, res: AnyResponse, original: AnyResponse | undefined, part: "header" | "trailer"): void {
  if (res === original || (original !== undefined && onlyMessagesReplaced(res, original))) return;
  if (part === "header") copyInto(res.header, ctx.responseHeaderIfAny, () => ctx.responseHeader);
  else copyInto(res.trailer, ctx.responseTrailerIfAny, () => ctx.responseTrailer);
}

function copyInto(from: Headers | undefined, current: Headers | undefined, target: () => Headers): void {
  if (from === undefined || from === current) return;
  const to = target();
  to.forEach((_, key) => to.delete(key));
  from.forEach((value, key) => to.set(key, value));
}

const normalize = (schema: DescMessage, value: unknown): Message =>
  (isMessage(value, schema) ? value : create(schema, value as never)) as Message;

function chain(fn: AnyFn, interceptors: readonly Interceptor[]): AnyFn {
  let next = fn;
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next);
  return next;
}

/**
 * Runs a unary implementation through `interceptors` (outermost first),
 * as connect-es's invokeUnaryImplementation does, and returns the output message.
 */
export async function invokeUnary(spec: Extract<LeanMethodSpec, { kind: "unary" }>, ctx: CallContext, input: Message, interceptors: readonly Interceptor[]): Promise<Message> {
  const output = spec.method.output;
  const request = new LeanUnaryRequest(input, ctx) as unknown as AnyRequest;
  let response: AnyResponse | undefined;
  const handler: AnyFn = async (req) => {
    const result = await spec.impl(req.message as never, contextFor(ctx, req, request));
    return (response = new LeanUnaryResponse(normalize(output, result), ctx) as unknown as AnyResponse);
  };
  const res = await chain(handler, interceptors)(request);
  adoptHeaders(ctx, res, response, "header");
  adoptHeaders(ctx, res, response, "trailer");
  return res.message as Message;
}

/**
 * Runs a server-streaming implementation through `interceptors` and returns
 * its messages (normalised to messages one by one, without another generator
 * stage) and a function that adopts the trailers an interceptor set once the
 * stream is done.
 */
export async function invokeServerStream(
  spec: Extract<LeanMethodSpec, { kind: "server_streaming" }>,
  ctx: CallContext,
  input: Message,
  interceptors: readonly Interceptor[],
): Promise<{ messages: AsyncIterator<Message>; finish(): void }> {
  const output = spec.method.output;
  const request = streamRequest(oneMessage(input), ctx);
  let response: AnyResponse | undefined;
  const handler: AnyFn = async (req) => {
    const single = await firstOf(req.message as AsyncIterable<Message>);
    const it = spec.impl(single as never, contextFor(ctx, req, request))[Symbol.asyncIterator]();
    // Plain promise chains, not async functions: a watch stream waits in next() for as long as it is idle,
    // and a suspended async function holds its whole frame meanwhile.
    const normalised: AsyncIterableIterator<Message> = {
      next: () => it.next().then((r) => (r.done ? r : { done: false, value: normalize(output, r.value) })),
      return: (value?: unknown) => (it.return ? it.return(value as never) : Promise.resolve({ done: true, value })) as Promise<IteratorResult<Message>>,
      throw: (error?: unknown) => (it.throw ? it.throw(error) : Promise.reject(error)) as Promise<IteratorResult<Message>>,
      [Symbol.asyncIterator]() {
        return normalised;
      },
    };
    return (response = streamResponse(normalised, ctx));
  };
  const res = await chain(handler, interceptors)(request);
  adoptHeaders(ctx, res, response, "header");
  const messages = (res.message as AsyncIterable<Message>)[Symbol.asyncIterator]();
  return { messages, finish: () => adoptHeaders(ctx, res, response, "trailer") };
}

/**
 * The request of a server-streaming call as the one-message stream interceptors expect. Not connect's
 * createAsyncIterable: its down-levelled generator (a dozen closures) stays reachable from the request for
 * as long as the stream is open, long after its one message was taken.
 */
function oneMessage(input: Message): AsyncIterable<Message> {
  return {
    [Symbol.asyncIterator]() {
      let taken = false;
      return {
        next: () => {
          if (taken) return Promise.resolve({ done: true, value: undefined });
          taken = true;
          return Promise.resolve({ done: false, value: input });
        },
        return: (value?: unknown) => {
          taken = true;
          return Promise.resolve({ done: true, value });
        },
      } as AsyncIterator<Message>;
    },
  };
}

async function firstOf(messages: AsyncIterable<Message>): Promise<Message> {
  for await (const message of messages) return message;
  throw new Error("unreachable: the lean path always passes one message");
}
