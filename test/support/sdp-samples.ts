/** A small but real-shaped SDP, with the ICE username fragment `ufrag`. */
export function sampleSdp(kind: "offer" | "answer", ufrag: string): string {
  return [
    "v=0",
    `o=- ${kind === "offer" ? 4611731400430051336 : 1234567890123456789} 2 IN IP4 127.0.0.1`,
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    `a=ice-ufrag:${ufrag}`,
    "a=ice-pwd:asd88fgpdd777uzjYhagZg12",
    `a=setup:${kind === "offer" ? "actpass" : "active"}`,
    "a=mid:0",
    "a=sctp-port:5000",
    "",
  ].join("\r\n");
}

/** A host candidate in the browser's toJSON() form, gathered under `ufrag`. */
export function sampleCandidate(ufrag: string, port: number) {
  return {
    candidate: `candidate:842163049 1 udp 1677729535 192.0.2.7 ${port} typ host generation 0 ufrag ${ufrag} network-cost 999`,
    sdpMid: "0",
    sdpMLineIndex: 0,
    usernameFragment: ufrag,
  };
}
