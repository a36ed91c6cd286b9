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
}

export const defaultConnectionLimits: ConnectionLimits = {
  maxConnections: 25_000,
  maxConnectionsPerClient: 1_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  http2MaxConcurrentStreams: 1_000,
};
