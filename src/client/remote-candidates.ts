/** A remote ICE candidate, or null for the remote side's end-of-candidates. */
export type RemoteCandidate = RTCIceCandidateInit | null;

/**
 * Applies the other side's ICE candidates to the peer connection, keeping
 * those that arrive before the remote description until it is set (the
 * browser refuses candidates before then).
 */
export class RemoteCandidates {
  private pending: RemoteCandidate[] | undefined = [];

  constructor(private readonly pc: RTCPeerConnection) {}

  async add(candidate: RemoteCandidate): Promise<void> {
    if (this.pending) this.pending.push(candidate);
    else await this.apply(candidate);
  }

  /** Call once the remote description is set: applies what was kept, in arrival order. */
  async remoteDescriptionSet(): Promise<void> {
    const kept = this.pending ?? [];
    this.pending = undefined;
    for (const candidate of kept) await this.apply(candidate);
  }

  private async apply(candidate: RemoteCandidate): Promise<void> {
    try {
      // An empty candidate line is the end-of-candidates indication for every m-line.
      await this.pc.addIceCandidate(candidate ?? { candidate: "" });
    } catch {
      // A candidate the browser rejects (an old ICE generation, a malformed line) is skipped; the others still count.
    }
  }
}
