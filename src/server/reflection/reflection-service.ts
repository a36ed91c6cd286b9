import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { Answer, Question } from "./answer.js";
import { answer } from "./answer.js";
import { DescriptorIndex } from "./descriptor-index.js";

interface Request {
  readonly host: string;
  readonly messageRequest: Question;
}

/**
 * Registers gRPC server reflection, grpc.reflection.v1 and v1alpha (which
 * grpcurl still asks for first), on `router`. It describes every service on
 * the router, itself included, as the router holds them at the first
 * reflection call; so register it last.
 */
export function registerReflection(router: ConnectRouter): void {
  let index: DescriptorIndex | undefined;
  const currentIndex = () => (index ??= new DescriptorIndex(router.handlers.map((h) => h.service)));
  const serverReflectionInfo = <R extends Request>(requests: AsyncIterable<R>, ctx: HandlerContext) =>
    answerStream(currentIndex(), requests, ctx);
  router.service(ServerReflectionV1, { serverReflectionInfo });
  router.service(ServerReflectionV1alpha, { serverReflectionInfo });
}

async function* answerStream<R extends Request>(
  index: DescriptorIndex,
  requests: AsyncIterable<R>,
  ctx: HandlerContext,
): AsyncGenerator<{ validHost: string; originalRequest: R; messageResponse: Answer }> {
  const sent = new Set<string>();
  for await (const request of requests) {
    if (ctx.signal.aborted) return;
    yield { validHost: request.host, originalRequest: request, messageResponse: answer(index, request.messageRequest, sent) };
  }
}
