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
 * What a call's request and response share: the message, the method and the call. Classes with the lazy
 * parts as prototype getters, not object literals: a literal with getters makes a closure per getter and is
 * held in dictionary mode (about 450 bytes, for as long as a stream is open). The pipeline wraps a stream's
 * request and response without copying them (withMessages), so the getters run only when something reads
 * them: an idle watch stream builds no request or response `Headers`.
 */
abstract class LeanPart {
  readonly method: CallContext["method"];
  readonly service: CallContext["service"];

  constructor(
    readonly stream: boolean,
    readonly message: unknown,
    protected readonly ctx: CallContext,
  ) {
    this.method = ctx.method;
    this.service = ctx.service;
  }
}

/** A call's request: connect-es's request shape; should an interceptor spread one, contextFor falls back to the call's own parts. */
class LeanRequest extends LeanPart {
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

/** A call's response, its header and trailer made only if read. */
class LeanResponse extends LeanPart {
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
    // A spread copy of the lean request lacks its prototype getters: the call's own parts then.
    this.signal = req.signal ?? ctx.signal;
    this.requestHeader = req.header ?? ctx.requestHeader;
    this.values = req.contextValues ?? ctx.values;
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
export function invokeUnary(spec: Extract<LeanMethodSpec, { kind: "unary" }>, ctx: CallContext, input: Message, interceptors: readonly Interceptor[]): Promise<Message> {
  const output = spec.method.output;
  const request = new LeanRequest(false, input, ctx) as unknown as AnyRequest;
  let response: AnyResponse | undefined;
  const respond = (result: unknown) => (response = new LeanResponse(false, normalize(output, result), ctx) as unknown as AnyResponse);
  // Not an async function: an implementation that answers synchronously (the memory store's calls) costs no extra microtask.
  const handler: AnyFn = (req) => {
    try {
      const result = spec.impl(req.message as never, contextFor(ctx, req, request));
      return result instanceof Promise ? result.then(respond) : Promise.resolve(respond(result));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return chain(handler, interceptors)(request).then((res) => {
    adoptHeaders(ctx, res, response, "header");
    adoptHeaders(ctx, res, response, "trailer");
    return res.message as Message;
  });
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
  const request = new LeanRequest(true, oneMessage(input), ctx) as unknown as AnyRequest;
  let response: AnyResponse | undefined;
  const handler: AnyFn = async (req) => {
    const single = await firstOf(req.message as AsyncIterable<Message>);
    const normalised = new Normalised(output, spec.impl(single as never, contextFor(ctx, req, request))[Symbol.asyncIterator]());
    return (response = new LeanResponse(true, normalised, ctx) as unknown as AnyResponse);
  };
  const res = await chain(handler, interceptors)(request);
  adoptHeaders(ctx, res, response, "header");
  const messages = (res.message as AsyncIterable<Message>)[Symbol.asyncIterator]();
  return new ServerStream(messages, ctx, res, response);
}

/** A server stream's messages, and how to adopt the trailers an interceptor set once it is done (a class: no closure held). */
class ServerStream {
  constructor(
    readonly messages: AsyncIterator<Message>,
    private readonly ctx: CallContext,
    private readonly res: AnyResponse,
    private readonly response: AnyResponse | undefined,
  ) {}

  finish(): void {
    adoptHeaders(this.ctx, this.res, this.response, "trailer");
  }
}

/**
 * The implementation's messages, normalised to messages one by one, without another generator stage. Plain
 * promise chains, not async functions: a watch stream waits in next() for as long as it is idle, and a suspended
 * async function holds its whole frame meanwhile; a class, not an object literal, whose methods would be closures.
 */
class Normalised implements AsyncIterableIterator<Message> {
  constructor(
    private readonly output: DescMessage,
    private readonly it: AsyncIterator<unknown>,
  ) {}

  next(): Promise<IteratorResult<Message>> {
    return this.it.next().then((r) => (r.done ? r : { done: false, value: normalize(this.output, r.value) }));
  }

  return(value?: unknown): Promise<IteratorResult<Message>> {
    return (this.it.return ? this.it.return(value as never) : Promise.resolve({ done: true, value })) as Promise<IteratorResult<Message>>;
  }

  throw(error?: unknown): Promise<IteratorResult<Message>> {
    return (this.it.throw ? this.it.throw(error) : Promise.reject(error)) as Promise<IteratorResult<Message>>;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * The request of a server-streaming call as the one-message stream interceptors expect. Not connect's
 * createAsyncIterable: its down-levelled generator (a dozen closures) stays reachable from the request for
 * as long as the stream is open, long after its one message was taken.
 * A class: an object literal's methods would be closures held as long.
 */
function oneMessage(input: Message): AsyncIterable<Message> {
  return new OneMessage(input);
}

class OneMessage implements AsyncIterable<Message> {
  constructor(private readonly input: Message) {}

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return new OneMessageReader(this.input);
  }
}

class OneMessageReader implements AsyncIterator<Message> {
  constructor(private input: Message | undefined) {}

  next(): Promise<IteratorResult<Message>> {
    const input = this.input;
    if (input === undefined) return Promise.resolve({ done: true, value: undefined });
    this.input = undefined;
    return Promise.resolve({ done: false, value: input });
  }

  return(value?: unknown): Promise<IteratorResult<Message>> {
    this.input = undefined;
    return Promise.resolve({ done: true, value });
  }
}

async function firstOf(messages: AsyncIterable<Message>): Promise<Message> {
  for await (const message of messages) return message;
  throw new Error("unreachable: the lean path always passes one message");
}
