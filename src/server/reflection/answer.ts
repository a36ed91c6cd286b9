import type { DescFile } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { DescriptorIndex } from "./descriptor-index.js";

/**
 * A reflection request's question, the same in grpc.reflection.v1 and
 * v1alpha: both generated request types fit this shape.
 */
export type Question =
  | { case: "fileByFilename"; value: string }
  | { case: "fileContainingSymbol"; value: string }
  | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
  | { case: "allExtensionNumbersOfType"; value: string }
  | { case: "listServices"; value: string }
  | { case: undefined; value?: undefined };

/** A reflection response's answer, as an init shape both versions accept. */
export type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * Answers one question of a reflection stream. `sent` holds the files
 * already sent on this stream: like grpc-go, a file's imports go along
 * with it unless the client has them already.
 */
export function answer(index: DescriptorIndex, question: Question, sent: Set<string>): Answer {
  switch (question.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.serviceNames.map((name) => ({ name })) } };
    case "fileByFilename":
      return files(index, index.fileByName(question.value), sent, `no file named "${question.value}"`);
    case "fileContainingSymbol":
      return files(index, index.fileBySymbol(question.value), sent, `no symbol named "${question.value}"`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = question.value;
      const file = index.fileByExtension(containingType, extensionNumber);
      return files(index, file, sent, `no extension ${extensionNumber} of "${containingType}"`);
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(question.value);
      if (!numbers) return notFound(`no message type named "${question.value}"`);
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: question.value, extensionNumber: numbers } };
    }
    case undefined:
      return {
        case: "errorResponse",
        value: { errorCode: Code.InvalidArgument, errorMessage: "set one of the message_request fields" },
      };
  }
}

function files(index: DescriptorIndex, file: DescFile | undefined, sent: Set<string>, missing: string): Answer {
  if (!file) return notFound(missing);
  const encoded = index.encodeWithImports(file, sent);
  for (const { name } of encoded) sent.add(name);
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto: encoded.map((f) => f.bytes) } };
}

function notFound(message: string): Answer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: message } };
}
