import type { Interceptor } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { withMessages } from "./call-end.js";

type AnyNext = Parameters<Interceptor>[0];
export type AnyRequest = Parameters<AnyNext>[0];
type AnyResponse = Awaited<ReturnType<AnyNext>>;

/**
 * One cross-cutting RPC policy as synchronous hooks around the handler
 * (request log, metrics, rate limit, error translation, hard stop). They are
 * written once and composed by composePolicies into one Connect
 * interceptor, which both routes run: a unary call pays one promise for the
 * whole pipeline, and a stream one wrapper of its messages, instead of an
 * async interceptor (and, for streams, an async generator or two) per policy.
 */
export interface CallPolicy<S = any> {
  /**
   * Before the handler. Throws to refuse the call (the policies entered before
   * it see that error as the call's). `fail` ends the call with an error before
   * it has started (the hard stop); the handler's late start is then ignored.
   * `message`: a unary call's message, or a server stream's one request message
   * when `firstMessage` is set on some policy of the pipeline (else undefined).
   * Returns the state the other hooks get.
   */
  enter(req: AnyRequest, fail: (error: unknown) => void, message: unknown): S;
  /** Set when `enter` needs a server stream's request message (reading it costs a stream an extra step). */
  readonly needsMessage?: boolean;
  /** A stream has started (its response is ready): a policy of the start only lets go here. */
  started?(req: AnyRequest, state: S): void;
  /** A stream's first response message is out. */
  firstMessage?(req: AnyRequest, state: S): void;
  /**
   * The call has ended: `error` undefined on success. Runs once per call
   * entered, innermost policy first. `unreadable`: the request could not be
   * read (bad framing, no message or two where one is due): the client's fault.
   */
  exit?(req: AnyRequest, state: S, error: unknown, unreadable: boolean): void;
  /** Replaces the error passing this policy outwards (error translation): what the policies outside it and the client see. */
  mapError?(req: AnyRequest, error: unknown): unknown;
}

const cancelled = () => new ConnectError("the client cancelled the stream", Code.Canceled);

/**
 * The policies (outermost first) as one Connect interceptor, with the
 * semantics of a chain of interceptors in that order: a refusal is seen by the
 * policies outside the one that refused, an error by every policy as the
 * policies inside it left it, and a call's end (for a stream: its last
 * message, its error, or the client stopping to read) once by each.
 */
export function composePolicies(policies: readonly CallPolicy[]): Interceptor {
  const n = policies.length;
  const needsMessage = policies.some((p) => p.needsMessage === true);
  const withStart = policies.some((p) => p.started !== undefined);
  const withFirst = policies.some((p) => p.firstMessage !== undefined);

  /** One call's way through the policies. */
  class Call {
    readonly states: unknown[] = new Array<unknown>(n);
    entered = 0;
    /** The call has ended (or, before its start, failed): later outcomes are ignored. */
    ended = false;
    /** Request messages read by the handler, and whether reading one failed (streams). */
    messagesRead = 0;
    readFailed: unknown = undefined;

    constructor(readonly req: AnyRequest) {}

    /** Runs the exits of the policies entered, innermost first; returns the error as the outermost left it. */
    finish(error: unknown): unknown {
      if (this.ended) return error;
      this.ended = true;
      const req = this.req;
      const unreadable =
        error !== undefined &&
        req.stream &&
        (error === this.readFailed || (req.method.methodKind === "server_streaming" && this.messagesRead !== 1));
      for (let i = this.entered - 1; i >= 0; i--) {
        const p = policies[i]!;
        if (error !== undefined && p.mapError) error = p.mapError(req, error);
        p.exit?.(req, this.states[i], error, unreadable);
      }
      return error;
    }

    enterAll(fail: (error: unknown) => void, message: unknown): void {
      for (; this.entered < n; this.entered++) {
        this.states[this.entered] = policies[this.entered]!.enter(this.req, fail, message);
        if (this.ended) return;
      }
    }
  }

  /**
   * A stream's request messages as the handler reads them: counted, and the error reading one threw noted on the
   * call. A class, not an object literal: a literal's methods are closures of their own, and a watch stream holds
   * this object for as long as it is open.
   */
  class CountedMessages implements AsyncIterator<unknown>, AsyncIterable<unknown> {
    constructor(
      private readonly call: Call,
      private readonly source: AsyncIterator<unknown>,
      private first: IteratorResult<unknown> | undefined,
    ) {}

    next(): Promise<IteratorResult<unknown>> {
      const call = this.call;
      const first = this.first;
      if (first !== undefined) {
        this.first = undefined;
        if (!first.done) call.messagesRead++;
        return Promise.resolve(first);
      }
      return this.source.next().then(
        (r) => {
          if (!r.done) call.messagesRead++;
          return r;
        },
        (error: unknown) => {
          call.readFailed = error;
          throw error;
        },
      );
    }

    return(value?: unknown): Promise<IteratorResult<unknown>> {
      return this.source.return?.(value) ?? Promise.resolve({ done: true, value });
    }

    [Symbol.asyncIterator](): this {
      return this;
    }
  }

  /**
   * A stream's response messages, ending the call (once) after the last one, on an error, or when the client stops
   * reading. Promise chains, not async functions: an idle watch stream waits in next() for as long as it is open,
   * and a suspended async function holds its frame meanwhile; a class, not an object literal, for the reason above.
   */
  class Outcome implements AsyncIterator<unknown>, AsyncIterable<unknown> {
    constructor(
      private readonly call: Call,
      private readonly inner: AsyncIterator<unknown>,
      private firstOut: boolean,
    ) {}

    next(): Promise<IteratorResult<unknown>> {
      const call = this.call;
      return this.inner.next().then(
        (r) => {
          if (r.done) call.finish(undefined);
          else if (this.firstOut) {
            this.firstOut = false;
            for (let i = 0; i < n; i++) policies[i]!.firstMessage?.(call.req, call.states[i]);
          }
          return r;
        },
        (error: unknown) => {
          throw call.finish(error);
        },
      );
    }

    return(value?: unknown): Promise<IteratorResult<unknown>> {
      // The cancellation is built only when it is news (an error captures a stack).
      if (!this.call.ended) this.call.finish(cancelled());
      return this.inner.return ? this.inner.return(value) : Promise.resolve({ done: true, value });
    }

    throw(error?: unknown): Promise<IteratorResult<unknown>> {
      this.call.finish(error);
      return this.inner.throw ? this.inner.throw(error) : Promise.reject(error);
    }

    [Symbol.asyncIterator](): this {
      return this;
    }
  }

  const unary = (next: AnyNext, req: AnyRequest): Promise<AnyResponse> =>
    new Promise<AnyResponse>((resolve, reject) => {
      const call = new Call(req);
      const fail = (error: unknown) => {
        if (!call.ended) reject(call.finish(error));
      };
      try {
        call.enterAll(fail, req.message);
      } catch (error) {
        fail(error);
        return;
      }
      if (call.ended) return;
      next(req).then((res) => {
        if (call.ended) return;
        call.finish(undefined);
        resolve(res);
      }, fail);
    });

  const stream = async (next: AnyNext, original: AnyRequest & { stream: true }): Promise<AnyResponse> => {
    const call = new Call(original);
    let started = false;
    let rejectStart: ((error: unknown) => void) | undefined;
    let early: { error: unknown } | undefined;
    const fail = (error: unknown) => {
      if (started || call.ended) return;
      const e = call.finish(error);
      if (rejectStart) rejectStart(e);
      else early = { error: e };
    };
    // The request messages as the handler reads them, counted, with the error reading them threw (one object, no generator).
    const source = original.message[Symbol.asyncIterator]();
    let first: IteratorResult<unknown> | undefined;
    if (needsMessage && original.method.methodKind === "server_streaming") {
      try {
        first = await source.next();
      } catch (error) {
        call.readFailed = error;
        throw call.finish(error);
      }
    }
    const messages = new CountedMessages(call, source, first);
    const req = withMessages<AnyRequest>(original, messages);
    try {
      call.enterAll(fail, first !== undefined && !first.done ? first.value : undefined);
    } catch (error) {
      throw call.finish(error);
    }
    if (early) throw early.error;
    const res = await new Promise<AnyResponse>((resolve, reject) => {
      rejectStart = reject;
      next(req).then(resolve, fail);
    });
    started = true;
    if (withStart) for (let i = 0; i < n; i++) policies[i]!.started?.(original, call.states[i]);
    if (!res.stream) {
      call.finish(undefined);
      return res;
    }
    const out = new Outcome(call, res.message[Symbol.asyncIterator](), withFirst);
    return withMessages(res, out);
  };

  return (next) => (req) => (req.stream ? stream(next, req) : unary(next, req));
}
