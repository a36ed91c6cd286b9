import type { MessageInitShape } from "@bufbuild/protobuf";
import type { IceCandidateSchema } from "../../gen/signaling/v1/signaling_pb.js";
import { withRetries } from "./retry.js";
import type { SignalingClient } from "./transport.js";

/** One local ICE candidate, or "end" for end-of-candidates. */
export type OutgoingCandidate = MessageInitShape<typeof IceCandidateSchema> | "end";

/** Candidates sent together with a description. */
export interface RidingCandidates {
  readonly candidates: MessageInitShape<typeof IceCandidateSchema>[];
  readonly endOfCandidates: boolean;
}

/** Gathered items as the candidates and end-of-candidates fields of a request. */
export function riding(items: readonly OutgoingCandidate[]): RidingCandidates {
  return { candidates: items.filter((i) => i !== "end"), endOfCandidates: items.includes("end") };
}

/**
 * Sends this side's ICE candidates as soon as the token is known, in the
 * order they were gathered, one AddIceCandidates call at a time: each call
 * carries every candidate (and end-of-candidates) gathered since the last
 * one was sent, so candidates gathered in the same tick, or while a call
 * was in flight or the token unknown, go in one request. Retries are safe:
 * the server ignores a candidate it already holds.
 */
export class CandidateOutbox {
  private readonly token: Promise<string>;
  private setToken!: (token: string) => void;
  private chain: Promise<unknown>;
  private pending: OutgoingCandidate[] = [];
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

  /**
   * Takes what was gathered and not sent yet, to ride on the call that sends
   * the description (CreateChannel, SetAnswer); call `sentWith` once that call succeeded.
   */
  takePending(): RidingCandidates {
    const items = this.pending;
    this.pending = [];
    return riding(items);
  }

  /** The candidates taken with takePending are stored. */
  sentWith(riding: RidingCandidates): void {
    if (riding.endOfCandidates) this.markSent();
  }

  push(item: OutgoingCandidate): void {
    this.pending.push(item);
    // One send is queued for everything pushed until it starts.
    if (this.pending.length > 1) return;
    this.chain = this.chain.then(() => this.sendPending()).catch((error: unknown) => {
      if (!this.signal.aborted) this.onError(error);
    });
  }

  private async sendPending(): Promise<void> {
    const token = await this.token;
    const items = this.pending;
    this.pending = [];
    // Empty when what was queued rode on the description's call.
    if (this.signal.aborted || items.length === 0) return;
    const request = { channelId: this.channelId, token, ...riding(items) };
    await withRetries(() => this.client.addIceCandidates(request, { signal: this.signal }), this.maxRetries, this.signal);
    if (request.endOfCandidates) this.markSent();
  }
}
