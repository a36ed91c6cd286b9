/** Limits the signaling service enforces on what clients send and hold. */
export interface SignalingLimits {
  /** Largest SDP text of an offer or answer, in UTF-8 bytes. */
  readonly maxSdpBytes: number;
  /** Largest ICE candidate, all its text fields together, in UTF-8 bytes. */
  readonly maxCandidateBytes: number;
  /** Time to live of a channel created without one. */
  readonly defaultTtlMs: number;
  /** Requested times to live are raised to at least this. */
  readonly minTtlMs: number;
  /** Requested times to live are lowered to at most this. */
  readonly maxTtlMs: number;
  /** WatchChannel streams open at once in this process. */
  readonly maxWatchStreams: number;
  /** WatchChannel streams open at once on one channel, by holders of one of its tokens. */
  readonly maxWatchersPerChannel: number;
  /** WatchChannel streams one client address may hold open without a token (they take no slot of the channel). */
  readonly maxTokenlessWatchersPerClient: number;
  /** Idle time after which a WatchChannel stream sends a keep-alive. */
  readonly keepAliveIntervalMs: number;
}

/** Limits the room service enforces on what clients send and hold. */
export interface RoomServiceLimits {
  /** Seats a room may be created with at most. */
  readonly maxSeats: number;
  /** Largest message body, in UTF-8 bytes. */
  readonly maxMessageBytes: number;
  /** WatchRoom streams open at once in this process. */
  readonly maxWatchStreams: number;
  /** WatchRoom streams open at once for one member's session. */
  readonly maxWatchersPerSession: number;
  /** Idle time after which a WatchRoom stream sends a keep-alive. */
  readonly keepAliveIntervalMs: number;
}
