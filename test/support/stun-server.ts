import * as dgram from "node:dgram";
import type { AddressInfo } from "node:net";

const magicCookie = 0x2112a442;
const bindingRequest = 0x0001;
const bindingSuccess = 0x0101;
const xorMappedAddress = 0x0020;

/**
 * A minimal STUN server (RFC 8489) on loopback UDP: answers each IPv4 Binding
 * request with the sender's address (XOR-MAPPED-ADDRESS) and remembers who
 * asked, so a test can see which peers gathered with it.
 */
export class StunServer {
  private readonly socket = dgram.createSocket("udp4");
  /** The source address and port of every Binding request received. */
  readonly requests: string[] = [];

  async listen(): Promise<string> {
    this.socket.on("message", (message, from) => this.answer(message, from));
    await new Promise<void>((resolve) => this.socket.bind(0, "127.0.0.1", resolve));
    return `stun:127.0.0.1:${(this.socket.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(message: Buffer, from: dgram.RemoteInfo): void {
    if (message.length < 20 || message.readUInt16BE(0) !== bindingRequest || message.readUInt32BE(4) !== magicCookie) return;
    if (from.family !== "IPv4") return;
    this.requests.push(`${from.address}:${from.port}`);
    const response = Buffer.alloc(32);
    response.writeUInt16BE(bindingSuccess, 0);
    response.writeUInt16BE(12, 2); // one attribute: 4 bytes of type and length, 8 of value
    response.writeUInt32BE(magicCookie, 4);
    message.copy(response, 8, 8, 20); // the transaction id
    response.writeUInt16BE(xorMappedAddress, 20);
    response.writeUInt16BE(8, 22);
    response.writeUInt8(0x01, 25); // IPv4
    response.writeUInt16BE(from.port ^ (magicCookie >>> 16), 26);
    const address = from.address.split(".").reduce((value, octet) => (value << 8) | Number(octet), 0) >>> 0;
    response.writeUInt32BE((address ^ magicCookie) >>> 0, 28);
    this.socket.send(response, from.port, from.address);
  }
}
