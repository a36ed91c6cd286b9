/**
 * Node has no RTCPeerConnection: a stand-in with just enough of its signaling state machine for the SDK's
 * perfect negotiation (implicit offer/answer from setLocalDescription(), rollback when an offer collides,
 * negotiationneeded in a later task, one candidate then end-of-candidates after each local description).
 * No ICE agent and no media: "negotiated" means both sides hold each other's descriptions and are stable.
 * What a real browser does is test/browser-rooms.test.ts's.
 */
export class FakePeerConnection extends EventTarget {
  signalingState: RTCSignalingState = "stable";
  iceGatheringState: RTCIceGatheringState = "new";
  iceConnectionState: RTCIceConnectionState = "new";
  localDescription: RTCSessionDescriptionInit | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  /** The remote descriptions applied, as "offer: <sdp>" / "answer: <sdp>", in order. */
  readonly applied: string[] = [];
  closed = false;
  private negotiated = false;

  constructor(
    readonly name: string,
    readonly configuration: RTCConfiguration = {},
  ) {
    super();
  }

  get isNegotiated(): boolean {
    return this.negotiated && this.signalingState === "stable";
  }

  createDataChannel(): object {
    setTimeout(() => {
      if (!this.closed && !this.negotiated && this.signalingState === "stable") this.dispatchEvent(new Event("negotiationneeded"));
    });
    return {};
  }

  async setLocalDescription(): Promise<void> {
    await Promise.resolve();
    if (this.signalingState === "stable") {
      this.localDescription = { type: "offer", sdp: `offer from ${this.name}` };
      this.signalingState = "have-local-offer";
    } else if (this.signalingState === "have-remote-offer") {
      this.localDescription = { type: "answer", sdp: `answer from ${this.name}` };
      this.signalingState = "stable";
      this.negotiated = true;
    } else {
      throw new Error(`InvalidStateError: setLocalDescription in ${this.signalingState}`);
    }
    this.gather();
  }

  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    if (description.type === "offer") {
      if (this.signalingState === "have-local-offer") this.localDescription = null; // rollback
      this.signalingState = "have-remote-offer";
    } else if (this.signalingState === "have-local-offer") {
      this.signalingState = "stable";
      this.negotiated = true;
    } else {
      throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
    }
    this.remoteDescription = description;
    this.applied.push(`${description.type}: ${description.sdp}`);
  }

  async addIceCandidate(): Promise<void> {
    if (!this.remoteDescription) throw new Error("InvalidStateError: a candidate before the remote description");
  }

  restartIce(): void {}

  getConfiguration(): RTCConfiguration {
    return this.configuration;
  }

  close(): void {
    this.closed = true;
  }

  private gather(): void {
    this.iceGatheringState = "gathering";
    const candidate = { candidate: `candidate:1 1 udp 1 192.0.2.1 9 typ host (${this.name})`, sdpMid: "0", sdpMLineIndex: 0 };
    setTimeout(() => {
      if (this.closed) return;
      this.dispatchEvent(Object.assign(new Event("icecandidate"), { candidate: { ...candidate, toJSON: () => candidate } }));
      this.iceGatheringState = "complete";
      this.dispatchEvent(new Event("icegatheringstatechange"));
      this.dispatchEvent(Object.assign(new Event("icecandidate"), { candidate: null }));
    });
  }
}

/** The fake, typed as what the SDK takes. */
export function fakePeerConnection(name: string, configuration?: RTCConfiguration): FakePeerConnection & RTCPeerConnection {
  return new FakePeerConnection(name, configuration) as FakePeerConnection & RTCPeerConnection;
}
