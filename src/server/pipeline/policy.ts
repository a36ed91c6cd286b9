import type { Interceptor, UnaryRequest } from "@connectrpc/connect";

type AnyNext = Parameters<Interceptor>[0];
type AnyRequest = Parameters<AnyNext>[0];
type AnyResponse = Awaited<ReturnType<AnyNext>>;
export type AnyUnaryRequest = UnaryRequest;

/**
 * A unary call's policy as two synchronous hooks around the handler, so a
 * whole pipeline of policies costs a unary call one promise, not one (or
 * three) per policy as a chain of async interceptors does.
 */
export interface UnaryHooks<S> {
  /**
   * Before the handler. Throws to refuse the call (the policies entered before
   * it see that error as the call's). `fail` ends the call at once with an
   * error (the hard stop); the handler's late result is then ignored.
   * Returns the state `exit` gets.
   */
  enter(req: AnyUnaryRequest, fail: (error: unknown) => void): S;
  /** When the call ends: `error` undefined on success. Runs once per call entered, innermost policy first. */
  exit?(req: AnyUnaryRequest, state: S, error: unknown): void;
  /** Replaces the error passing this policy outwards (error translation): what the policies outside it and the client see. */
  mapError?(req: AnyUnaryRequest, error: unknown): unknown;
}

/**
 * One cross-cutting RPC policy, written once: `unary` serves unary calls
 * (fused with the other policies' hooks by composePolicies), `interceptor`
 * serves streams as a Connect interceptor built from the same functions.
 * The interceptor alone must be the complete policy (for unary calls too),
 * so a policy can also be used on its own.
 */
export interface CallPolicy {
  readonly unary: UnaryHooks<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly interceptor: Interceptor;
}

/**
 * The policies (outermost first) as one Connect interceptor, which both
 * routes (connect-node's adapter and the lean path) run: a unary call goes
 * through every policy's hooks with one promise of its own; a stream goes
 * through the policies' interceptors in the same order.
 */
export function composePolicies(policies: readonly CallPolicy[]): Interceptor {
  const hooks = policies.map((p) => p.unary);
  const interceptors = policies.map((p) => p.interceptor);
  const n = hooks.length;
  return (next) => (req) => {
    if (req.stream) {
      let chained: AnyNext = next;
      for (let i = interceptors.length - 1; i >= 0; i--) chained = interceptors[i]!(chained);
      return chained(req);
    }
    return new Promise<AnyResponse>((resolve, reject) => {
      const states: unknown[] = new Array<unknown>(n);
      let entered = 0;
      let settled = false;
      // Runs the exits of the policies entered, innermost first, each seeing the error as the policies inside it left it.
      const finish = (from: number, error: unknown): unknown => {
        for (let i = from - 1; i >= 0; i--) {
          const h = hooks[i]!;
          if (error !== undefined && h.mapError) error = h.mapError(req, error);
          h.exit?.(req, states[i], error);
        }
        return error;
      };
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        reject(finish(entered, error));
      };
      try {
        for (; entered < n; entered++) {
          states[entered] = hooks[entered]!.enter(req, fail);
          if (settled) return;
        }
      } catch (error) {
        fail(error);
        return;
      }
      next(req).then(
        (res) => {
          if (settled) return;
          settled = true;
          finish(n, undefined);
          resolve(res);
        },
        fail,
      );
    });
  };
}
