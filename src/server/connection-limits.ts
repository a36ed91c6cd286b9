/** Caps and timeouts that keep slow or greedy clients from holding the port's connections. */
export interface ConnectionLimits {
  /** TCP connections open at once; more are closed as they arrive (`max-connections`). */
  readonly maxConnections: number;
  /** TCP connections open at once from one peer address, trusted proxies exempt (`max-connections-per-client`). */
  readonly maxConnectionsPerClient: number;
  /**
   * Time a new connection gets to send its first request headers (HTTP/1.1) or the HTTP/2 preface,
   * and each later HTTP/1.1 request its headers (`headers-timeout-ms`).
   */
  readonly headersTimeoutMs: number;
  /** Time a request gets to arrive whole, headers and body (`request-timeout-ms`). */
  readonly requestTimeoutMs: number;
  /** An HTTP/2 session without open streams, or an HTTP/1.1 connection between requests, closes after this (`idle-timeout-ms`). */
  readonly idleTimeoutMs: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of every HTTP/2 session (`http2-max-concurrent-streams`). */
  readonly http2MaxConcurrentStreams: number;
  /**
   * RST_STREAM frames one HTTP/2 connection may send at once (`http2-stream-reset-burst`) and per second after
   * that (`http2-stream-reset-rate`); past them the connection gets GOAWAY. The bound on rapid-reset floods.
   * nghttp2's own (1,000 and 33/s) is reached by one proxy connection carrying many clients' cancelled watches.
   */
  readonly http2StreamResetBurst: number;
  readonly http2StreamResetRate: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  maxConnections: 25_000,
  maxConnectionsPerClient: 1_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  http2MaxConcurrentStreams: 1_000,
  http2StreamResetBurst: 10_000,
  http2StreamResetRate: 1_000,
};
