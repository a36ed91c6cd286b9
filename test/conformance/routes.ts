// connectrpc.conformance.v1.ConformanceService for the Connect conformance suite, test-only.
// Adapted from connect-es's packages/connect-conformance/src/routes.ts and protocol.ts
// (Copyright 2021-2026 The Connect Authors, Apache License 2.0), which are not published to npm.
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { create, createRegistry } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import {
  BidiStreamRequestSchema,
  ClientStreamRequestSchema,
  ConformancePayloadSchema,
  ConformancePayload_RequestInfoSchema,
  ConformanceService,
  HeaderSchema,
  IdempotentUnaryRequestSchema,
  ServerStreamRequestSchema,
  UnaryRequestSchema,
} from "./gen/connectrpc/conformance/v1/service_pb.js";
import type {
  ConformancePayload_RequestInfo,
  Error as ConformanceError,
  Header,
  StreamResponseDefinition,
  UnaryResponseDefinition,
} from "./gen/connectrpc/conformance/v1/service_pb.js";

const detailsRegistry = createRegistry(ConformancePayload_RequestInfoSchema);

/** The request types an Any in the conformance payloads may hold (for the JSON codec). */
export const conformanceRegistry = createRegistry(
  UnaryRequestSchema,
  ServerStreamRequestSchema,
  ClientStreamRequestSchema,
  BidiStreamRequestSchema,
  IdempotentUnaryRequestSchema,
);

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function protoHeaders(headers: Headers): Header[] {
  const out: Header[] = [];
  headers.forEach((value, name) => out.push(create(HeaderSchema, { name, value: [value] })));
  return out;
}

function appendHeaders(headers: Headers, from: readonly Header[]): void {
  for (const header of from) for (const value of header.value) headers.append(header.name, value);
}

function errorFromProto(err: ConformanceError): ConnectError {
  return new ConnectError(
    err.message ?? "",
    err.code as unknown as Code,
    undefined,
    err.details.map((d) => {
      const value = anyUnpack(d, detailsRegistry);
      if (value === undefined) throw new Error(`cannot unpack ${d.typeUrl}`);
      return { desc: ConformancePayload_RequestInfoSchema, value: value as ConformancePayload_RequestInfo };
    }),
  );
}

function requestInfo(ctx: HandlerContext, requests: Any[]): ConformancePayload_RequestInfo {
  const timeoutMs = ctx.timeoutMs();
  return create(ConformancePayload_RequestInfoSchema, {
    requestHeaders: protoHeaders(ctx.requestHeader),
    requests,
    ...(timeoutMs !== undefined && { timeoutMs: BigInt(timeoutMs) }),
  });
}

async function unaryResponse(def: UnaryResponseDefinition | undefined, requests: Any[], ctx: HandlerContext) {
  appendHeaders(ctx.responseHeader, def?.responseHeaders ?? []);
  appendHeaders(ctx.responseTrailer, def?.responseTrailers ?? []);
  const info = requestInfo(ctx, requests);
  if (def?.response.case === "error") {
    def.response.value.details.push(anyPack(ConformancePayload_RequestInfoSchema, info));
    throw errorFromProto(def.response.value);
  }
  if (def?.responseDelayMs !== undefined) await wait(def.responseDelayMs);
  return {
    payload: create(ConformancePayloadSchema, {
      requestInfo: requestInfo(ctx, requests),
      ...(def?.response.value !== undefined && { data: def.response.value as Uint8Array }),
    }),
  };
}

export function conformanceRoutes(router: ConnectRouter): void {
  router.service(ConformanceService, {
    unary: (req, ctx) => unaryResponse(req.responseDefinition, [anyPack(UnaryRequestSchema, req)], ctx),
    idempotentUnary: (req, ctx) => unaryResponse(req.responseDefinition, [anyPack(IdempotentUnaryRequestSchema, req)], ctx),
    async clientStream(requests, ctx) {
      let def: UnaryResponseDefinition | undefined;
      const all: Any[] = [];
      for await (const req of requests) {
        def ??= req.responseDefinition;
        all.push(anyPack(ClientStreamRequestSchema, req));
      }
      return unaryResponse(def, all, ctx);
    },
    async *serverStream(req, ctx) {
      const def = req.responseDefinition;
      appendHeaders(ctx.responseHeader, def?.responseHeaders ?? []);
      appendHeaders(ctx.responseTrailer, def?.responseTrailers ?? []);
      const asAny = anyPack(ServerStreamRequestSchema, req);
      let info: ConformancePayload_RequestInfo | undefined = requestInfo(ctx, [asAny]);
      for (const data of def?.responseData ?? []) {
        await wait(def?.responseDelayMs ?? 0);
        yield { payload: create(ConformancePayloadSchema, { ...(info && { requestInfo: info }), data }) };
        info = undefined;
      }
      if (def?.error !== undefined) {
        if (def.responseData.length === 0) def.error.details.push(anyPack(ConformancePayload_RequestInfoSchema, requestInfo(ctx, [asAny])));
        throw errorFromProto(def.error);
      }
    },
    async *bidiStream(requests, ctx) {
      let def: StreamResponseDefinition | undefined;
      let fullDuplex = false;
      let sent = 0;
      let all: Any[] = [];
      for await (const req of requests) {
        if (def === undefined) {
          def = req.responseDefinition;
          appendHeaders(ctx.responseHeader, def?.responseHeaders ?? []);
          appendHeaders(ctx.responseTrailer, def?.responseTrailers ?? []);
          fullDuplex = req.fullDuplex;
        }
        all.push(anyPack(BidiStreamRequestSchema, req));
        if (!fullDuplex) continue;
        if (def === undefined || sent >= def.responseData.length) break;
        await wait(def.responseDelayMs);
        const data = def.responseData[sent];
        yield {
          payload: create(ConformancePayloadSchema, {
            requestInfo: requestInfo(ctx, [anyPack(BidiStreamRequestSchema, req)]),
            ...(data !== undefined && { data }),
          }),
        };
        sent++;
        all = [];
      }
      const info = requestInfo(ctx, all);
      for (; sent < (def?.responseData.length ?? 0); sent++) {
        await wait(def?.responseDelayMs ?? 0);
        const data = def?.responseData[sent];
        yield { payload: create(ConformancePayloadSchema, { ...(sent === 0 && { requestInfo: info }), ...(data !== undefined && { data }) }) };
      }
      if (def?.error !== undefined) {
        if (def.responseData.length === 0) def.error.details.push(anyPack(ConformancePayload_RequestInfoSchema, info));
        throw errorFromProto(def.error);
      }
    },
  });
}

export { Code };
