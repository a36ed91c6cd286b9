import type { MessageInitShape } from "@bufbuild/protobuf";
import type { IceCandidateSchema } from "../../gen/signaling/v1/signaling_pb.js";
import { withRetries } from "./retry.js";
import type { SignalingClient } from "./transport.js";

/** One local ICE candidate, or "end" for end-of-candidates. */
export type OutgoingCandidate = MessageInitShape<typeof IceCandidateSchema> | "end";

/**
 * Sends this side's ICE candidates with AddIceCandidate one after the other,
 * in the order they were gathered, as soon as the token is known. Retries are
 * safe: the server ignores a candidate it already holds.
 */
export class CandidateOutbox {
  private readonly token: Promise<string>;
  private setToken!: (token: string) => void;
  private chain: Promise<unknown>;
  private markSent!: () => void;
  /** Resolves once end-of-candidates is stored, and with it every candidate gathered before it. */
  readonly allSent = new Promise<void>((resolve) => (this.markSent = resolve));

  constructor(
    private readonly client: SignalingClient,
    private readonly channelId: string,
    private readonly maxRetries: number,
    private readonly signal: AbortSignal,
    private readonly onError: (error: unknown) => void,
  ) {
    this.token = new Promise((resolve) => (this.setToken = resolve));
    this.chain = this.token;
  }

  /** Sending begins once the side's token is known: at once for the offerer, after SetAnswer for the answerer. */
  start(token: string): void {
    this.setToken(token);
  }

  push(item: OutgoingCandidate): void {
    this.chain = this.chain.then(() => this.send(item)).catch((error: unknown) => {
      if (!this.signal.aborted) this.onError(error);
    });
  }

  private async send(item: OutgoingCandidate): Promise<void> {
    if (this.signal.aborted) return;
    const request = {
      channelId: this.channelId,
      token: await this.token,
      item: item === "end" ? { case: "endOfCandidates" as const, value: true } : { case: "candidate" as const, value: item },
    };
    await withRetries(() => this.client.addIceCandidate(request, { signal: this.signal }), this.maxRetries, this.signal);
    if (item === "end") this.markSent();
  }
}
