import type { DescEnum, DescExtension, DescFile, DescMessage, DescService } from "@bufbuild/protobuf";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { sourceInfoDescriptorSet } from "../../../gen/source_info.js";

/**
 * The descriptors reflection serves, built at start from the generated code
 * of the services we expose (and the files they import), so they can never
 * drift from what the router actually serves. protoc-gen-es embeds
 * descriptors without source info, so for our own files the copies buf
 * built with their comments (gen/source_info.ts) are served instead: that is
 * what `grpcurl describe` shows as documentation.
 */
export class DescriptorIndex {
  /** Fully-qualified names of the services, sorted. */
  readonly serviceNames: readonly string[];
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly extensions = new Map<string, Map<number, DescFile>>();
  private readonly encoded = new Map<DescFile, Uint8Array>();

  constructor(services: Iterable<DescService>) {
    const names = new Set<string>();
    for (const service of services) {
      names.add(service.typeName);
      this.addFile(service.file);
    }
    this.serviceNames = [...names].sort();
  }

  /** The file with this path, as in an import statement ("signaling/v1/signaling.proto"). */
  fileByName(name: string): DescFile | undefined {
    return this.files.get(name);
  }

  /** The file defining a service, method, message, field, oneof, enum, enum value or extension. */
  fileBySymbol(symbol: string): DescFile | undefined {
    return this.symbols.get(symbol);
  }

  fileByExtension(extendee: string, number: number): DescFile | undefined {
    return this.extensions.get(extendee)?.get(number);
  }

  /** Extension field numbers of a message type, or undefined when the type is unknown. */
  extensionNumbers(typeName: string): number[] | undefined {
    if (!this.symbols.has(typeName)) return undefined;
    return [...(this.extensions.get(typeName)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** `file` then each file it imports, directly or not, encoded as FileDescriptorProto, skipping names in `skip`. */
  encodeWithImports(file: DescFile, skip: ReadonlySet<string> = new Set()): { name: string; bytes: Uint8Array }[] {
    const out: { name: string; bytes: Uint8Array }[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile, requested: boolean) => {
      const name = f.proto.name;
      if (seen.has(name)) return;
      seen.add(name);
      if (requested || !skip.has(name)) out.push({ name, bytes: this.encode(f) });
      for (const dependency of f.dependencies) visit(dependency, false);
    };
    visit(file, true);
    return out;
  }

  private encode(file: DescFile): Uint8Array {
    let bytes = this.encoded.get(file);
    if (!bytes) {
      bytes = documentedFiles().get(file.proto.name) ?? toBinary(FileDescriptorProtoSchema, file.proto);
      this.encoded.set(file, bytes);
    }
    return bytes;
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    for (const dependency of file.dependencies) this.addFile(dependency);
    for (const message of file.messages) this.addMessage(file, message);
    for (const e of file.enums) this.addEnum(file, e);
    for (const extension of file.extensions) this.addExtension(file, extension);
    for (const service of file.services) {
      this.symbols.set(service.typeName, file);
      for (const method of service.methods) this.symbols.set(`${service.typeName}.${method.name}`, file);
    }
  }

  private addMessage(file: DescFile, message: DescMessage): void {
    this.symbols.set(message.typeName, file);
    for (const field of message.fields) this.symbols.set(`${message.typeName}.${field.name}`, file);
    for (const oneof of message.oneofs) this.symbols.set(`${message.typeName}.${oneof.name}`, file);
    for (const nested of message.nestedMessages) this.addMessage(file, nested);
    for (const e of message.nestedEnums) this.addEnum(file, e);
    for (const extension of message.nestedExtensions) this.addExtension(file, extension);
  }

  private addEnum(file: DescFile, e: DescEnum): void {
    this.symbols.set(e.typeName, file);
    // Enum values are scoped like their enum's siblings, as in C++.
    const scope = e.typeName.slice(0, e.typeName.length - e.name.length);
    for (const value of e.values) this.symbols.set(`${scope}${value.name}`, file);
  }

  private addExtension(file: DescFile, extension: DescExtension): void {
    this.symbols.set(extension.typeName, file);
    const byNumber = this.extensions.get(extension.extendee.typeName) ?? new Map<number, DescFile>();
    byNumber.set(extension.number, file);
    this.extensions.set(extension.extendee.typeName, byNumber);
  }
}

let documented: Map<string, Uint8Array> | undefined;

/** Our proto files with their comments, by file name, encoded as FileDescriptorProto. */
function documentedFiles(): Map<string, Uint8Array> {
  if (!documented) {
    const set = fromBinary(FileDescriptorSetSchema, Buffer.from(sourceInfoDescriptorSet, "base64"));
    documented = new Map(set.file.map((f) => [f.name, toBinary(FileDescriptorProtoSchema, f)]));
  }
  return documented;
}
