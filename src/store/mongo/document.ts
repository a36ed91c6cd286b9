import { createHash } from "node:crypto";
import type { ChannelState, NewChannel, PerSide, Side, StoredCandidate, Versioned } from "../channel.js";
import { candidateIdentity, freshCandidates, sides } from "../channel.js";

/**
 * One channel as stored in MongoDB. The version of every value is not
 * stored beside it, because an update cannot write "the new version" into a
 * field without reading it first (FerretDB 1.x has no pipeline updates).
 * Instead every change appends one code to `changes`, in the same update
 * that applies it, so change number i (from 0) made version i + 2 and the
 * version of any value follows from its position (see toState).
 */
export interface ChannelDocument {
  _id: string;
  offererTokenHash: string;
  answererTokenHash?: string;
  createTime: Date;
  /** The TTL index deletes the document some time after this; reads treat it as gone from this instant. */
  expireAt: Date;
  /** 1 + changes.length, kept as a field so queries can compare it. */
  version: number;
  changes: ChangeCode[];
  offer?: string;
  answer?: string;
  candidates: PerSide<StoredCandidate[]>;
  /** A digest of each candidate, parallel to `candidates`, so the update filter can refuse duplicates. */
  candidateKeys: PerSide<string[]>;
  /** Set by CloseChannel; the document stays briefly as a tombstone so other processes' watchers learn of it. */
  closedBy?: Side;
}

export type ChangeCode = "offer" | "answer" | `candidate:${Side}` | `complete:${Side}` | "close";

export const candidateChange = (side: Side): ChangeCode => `candidate:${side}`;
export const completeChange = (side: Side): ChangeCode => `complete:${side}`;

/** The document of a new channel; with an offer, its changes follow newChannelState's order. */
export function newChannelDocument(init: NewChannel): ChannelDocument {
  const doc: ChannelDocument = {
    _id: init.id,
    offererTokenHash: init.offererTokenHash,
    createTime: new Date(init.createTime),
    expireAt: new Date(init.expireTime),
    version: 1,
    changes: [],
    candidates: { offerer: [], answerer: [] },
    candidateKeys: { offerer: [], answerer: [] },
  };
  if (!init.offer) return doc;
  const { candidates } = init.offer;
  const fresh = freshCandidates([], candidates.batch);
  doc.offer = init.offer.sdp;
  doc.candidates = { offerer: fresh.map(storedCandidate), answerer: [] };
  doc.candidateKeys = { offerer: fresh.map(candidateKey), answerer: [] };
  doc.changes = ["offer", ...fresh.map(() => candidateChange("offerer")), ...(candidates.complete ? [completeChange("offerer")] : [])];
  doc.version = 1 + doc.changes.length;
  return doc;
}

/** Identical candidates (every field equal) have the same key. */
export function candidateKey(candidate: StoredCandidate): string {
  return createHash("sha256").update(candidateIdentity(candidate)).digest("base64url");
}

/** The candidate as stored: only the fields it has, so it reads back equal. */
export function storedCandidate(candidate: StoredCandidate): StoredCandidate {
  const stored: { -readonly [K in keyof StoredCandidate]: StoredCandidate[K] } = { candidate: candidate.candidate };
  if (candidate.sdpMid !== undefined) stored.sdpMid = candidate.sdpMid;
  if (candidate.sdpMLineIndex !== undefined) stored.sdpMLineIndex = candidate.sdpMLineIndex;
  if (candidate.usernameFragment !== undefined) stored.usernameFragment = candidate.usernameFragment;
  return stored;
}

/** The store-neutral state of a document, with each value's version derived from `changes`. */
export function toState(doc: ChannelDocument): ChannelState {
  let offerVersion: number | undefined;
  let answerVersion: number | undefined;
  const candidateVersions: Record<Side, number[]> = { offerer: [], answerer: [] };
  const completeVersions: Record<Side, number | undefined> = { offerer: undefined, answerer: undefined };
  doc.changes.forEach((code, index) => {
    const version = index + 2;
    if (code === "offer") offerVersion = version;
    else if (code === "answer") answerVersion = version;
    for (const side of sides) {
      if (code === candidateChange(side)) candidateVersions[side].push(version);
      else if (code === completeChange(side)) completeVersions[side] ??= version;
    }
  });
  const versioned = (side: Side): Versioned<StoredCandidate>[] =>
    doc.candidates[side].map((value, i) => ({ value: storedCandidate(value), version: candidateVersions[side][i] ?? doc.version }));
  return {
    id: doc._id,
    offererTokenHash: doc.offererTokenHash,
    ...(doc.answererTokenHash !== undefined && { answererTokenHash: doc.answererTokenHash }),
    ...(doc.offer !== undefined && { offer: { value: doc.offer, version: offerVersion ?? doc.version } }),
    ...(doc.answer !== undefined && { answer: { value: doc.answer, version: answerVersion ?? doc.version } }),
    candidates: { offerer: versioned("offerer"), answerer: versioned("answerer") },
    candidatesComplete: completeVersions,
    createTime: doc.createTime.getTime(),
    expireTime: doc.expireAt.getTime(),
    version: doc.version,
  };
}
