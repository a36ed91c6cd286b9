/**
 * What both systems relay in one exchange: a data-channel offer and answer of
 * the size a browser produces, and browser-shaped ICE candidates.
 */
export const candidatesPerSide = 4;

function sdp(sessionId: string, fingerprint: string): string {
  return [
    "v=0",
    `o=- ${sessionId} 2 IN IP4 127.0.0.1`,
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "a=extmap-allow-mixed",
    "a=msid-semantic: WMS",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    "a=ice-ufrag:Xq7b",
    "a=ice-pwd:2TrnFqmlPIAUn4uFK9DjE0z1",
    "a=ice-options:trickle",
    `a=fingerprint:sha-256 ${fingerprint}`,
    "a=setup:actpass",
    "a=mid:0",
    "a=sctp-port:5000",
    "a=max-message-size:262144",
    "",
  ].join("\r\n");
}

export const offerSdp = sdp(
  "4611731400430051336",
  "5C:3B:A1:9E:0F:44:12:7D:88:E0:31:CC:6A:92:5F:07:B4:1D:2E:93:AA:60:C8:17:F5:3E:09:D2:71:4B:8C:E6",
);
export const answerSdp = sdp(
  "7839203910293847561",
  "A4:7E:19:3C:D0:5B:82:F1:6E:27:99:0A:C3:48:B5:1F:E2:64:37:8D:0C:A9:53:F6:1B:7A:E8:25:90:4D:C6:3F",
);

export interface CandidateInit {
  readonly candidate: string;
  readonly sdpMid: string;
  readonly sdpMLineIndex: number;
  readonly usernameFragment: string;
}

/** The n-th candidate of a side; distinct per side and index. */
export function candidate(side: "offerer" | "answerer", n: number): CandidateInit {
  const port = (side === "offerer" ? 50000 : 51000) + n;
  return {
    candidate: `candidate:${842163049 + n} 1 udp ${2122260223 - n} 127.0.0.1 ${port} typ host generation 0 ufrag Xq7b network-id 1`,
    sdpMid: "0",
    sdpMLineIndex: 0,
    usernameFragment: "Xq7b",
  };
}
