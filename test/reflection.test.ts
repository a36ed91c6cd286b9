import type { MessageInitShape } from "@bufbuild/protobuf";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerReflectionResponse } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as V1, ServerReflectionRequestSchema } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as V1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { startTestServer, transportFor } from "./support/test-server.js";
import { servedServices } from "./support/services.js";

type Question = MessageInitShape<typeof ServerReflectionRequestSchema>["messageRequest"];

/** Asks the questions in order on one reflection stream and returns the answers. */
async function ask(baseUrl: string, questions: Question[], service: typeof V1 | typeof V1alpha = V1) {
  const client = createClient(service as typeof V1, transportFor("grpc", baseUrl));
  async function* requests() {
    for (const messageRequest of questions) yield { host: "localhost", messageRequest };
  }
  const answers: ServerReflectionResponse[] = [];
  for await (const response of client.serverReflectionInfo(requests())) answers.push(response);
  return answers;
}

function fileNames(answer: ServerReflectionResponse | undefined): string[] {
  if (answer?.messageResponse.case !== "fileDescriptorResponse") throw new Error(`not a file answer: ${answer?.messageResponse.case}`);
  return answer.messageResponse.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
}


describe("gRPC server reflection", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.shutdown(0));

  for (const [version, service] of [
    ["v1", V1],
    ["v1alpha", V1alpha],
  ] as const) {
    it(`lists every service the port serves (${version})`, async () => {
      const [answer] = await ask(server.url, [{ case: "listServices", value: "" }], service);
      expect(answer?.messageResponse).toMatchObject({ case: "listServicesResponse" });
      const names = answer?.messageResponse.case === "listServicesResponse" ? answer.messageResponse.value.service : [];
      expect(names.map((s) => s.name)).toEqual(servedServices);
      expect(answer?.validHost).toBe("localhost");
      expect(answer?.originalRequest?.messageRequest.case).toBe("listServices");
    });
  }

  it("sends the file defining a method together with its imports, then no import twice on the stream", async () => {
    const answers = await ask(server.url, [
      { case: "fileContainingSymbol", value: "signaling.v1.SignalingService.WatchChannel" },
      { case: "fileByFilename", value: "signaling/v1/signaling.proto" },
      { case: "fileByFilename", value: "google/protobuf/duration.proto" },
    ]);
    expect(fileNames(answers[0])).toEqual([
      "signaling/v1/signaling.proto",
      "google/protobuf/duration.proto",
      "google/protobuf/timestamp.proto",
      // CreateChannelResponse and SetAnswerResponse carry ice.proto's IceServer; ice.proto imports room.proto.
      "signaling/v1/ice.proto",
      "signaling/v1/room.proto",
    ]);
    expect(fileNames(answers[1])).toEqual(["signaling/v1/signaling.proto"]);
    expect(fileNames(answers[2])).toEqual(["google/protobuf/duration.proto"]);
  });

  it("serves descriptors complete enough to rebuild the service", async () => {
    const [answer] = await ask(server.url, [{ case: "fileContainingSymbol", value: "signaling.v1.SignalingService" }]);
    if (answer?.messageResponse.case !== "fileDescriptorResponse") throw new Error("no file");
    const file = fromBinary(FileDescriptorProtoSchema, answer.messageResponse.value.fileDescriptorProto[0]!);
    expect(file.package).toBe("signaling.v1");
    expect(file.dependency).toEqual(["google/protobuf/duration.proto", "google/protobuf/timestamp.proto", "signaling/v1/ice.proto"]);
    const methods = file.service[0]?.method.map((m) => `${m.name}${m.serverStreaming ? " (stream)" : ""}`);
    expect(methods).toContain("WatchChannel (stream)");
    expect(methods).toContain("AddIceCandidates");
    expect(methods).toHaveLength(11);
  });

  it("finds the file of fields, enum values, nested names and the health and reflection services", async () => {
    const symbols = [
      "signaling.v1.AddIceCandidateRequest.end_of_candidates",
      "signaling.v1.AddIceCandidateRequest.item",
      "signaling.v1.SIDE_OFFERER",
      "signaling.v1.SdpType",
      "grpc.health.v1.Health",
      "grpc.health.v1.HealthCheckResponse.SERVING",
      "grpc.reflection.v1alpha.ServerReflection",
    ];
    const answers = await ask(
      server.url,
      symbols.map((value) => ({ case: "fileContainingSymbol", value })),
    );
    expect(answers.map((a) => fileNames(a)[0])).toEqual([
      "signaling/v1/signaling.proto",
      "signaling/v1/signaling.proto",
      "signaling/v1/signaling.proto",
      "signaling/v1/signaling.proto",
      "health/v1/health.proto",
      "health/v1/health.proto",
      "grpc/reflection/v1alpha/reflection.proto",
    ]);
  });

  it("answers an unknown name with NOT_FOUND in the stream and goes on answering", async () => {
    const answers = await ask(server.url, [
      { case: "fileContainingSymbol", value: "signaling.v1.NoSuchThing" },
      { case: "fileByFilename", value: "no/such.proto" },
      { case: "allExtensionNumbersOfType", value: "signaling.v1.NoSuchThing" },
      { case: "fileContainingExtension", value: { containingType: "signaling.v1.Channel", extensionNumber: 100 } },
      { case: "allExtensionNumbersOfType", value: "signaling.v1.Channel" },
    ]);
    expect(answers.slice(0, 4).map((a) => a.messageResponse)).toEqual([
      { case: "errorResponse", value: expect.objectContaining({ errorCode: Code.NotFound, errorMessage: 'no symbol named "signaling.v1.NoSuchThing"' }) },
      { case: "errorResponse", value: expect.objectContaining({ errorCode: Code.NotFound, errorMessage: 'no file named "no/such.proto"' }) },
      { case: "errorResponse", value: expect.objectContaining({ errorCode: Code.NotFound }) },
      { case: "errorResponse", value: expect.objectContaining({ errorCode: Code.NotFound }) },
    ]);
    expect(answers[4]?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "signaling.v1.Channel", extensionNumber: [] },
    });
  });

  it("answers a request without a question with INVALID_ARGUMENT", async () => {
    const [answer] = await ask(server.url, [{ case: undefined }]);
    expect(answer?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: Code.InvalidArgument } });
  });
});
