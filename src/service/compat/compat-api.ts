import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../../lib/clock.js";
import { isJsonObject } from "../../lib/json.js";
import type { ChannelState } from "../../store/channel.js";
import { sameCandidate } from "../../store/channel.js";
import type { ChannelStore, StoreFailure } from "../../store/store.js";
import { addCandidate, StoreError } from "../../store/store.js";
import { liveChannel } from "../channel-access.js";
import { invalidArgument, toConnectError } from "../errors.js";
import type { SignalingLimits } from "../limits.js";
import { newChannelId } from "../tokens.js";
import { validChannelId } from "../validation.js";
import { compatCandidateSide, compatTokenHash, createdThroughCompat } from "./compat-sides.js";
import type { DescriptionKind } from "./compat-values.js";
import { candidateFromStore, candidateToStore, descriptionFromStore, descriptionToStore } from "./compat-values.js";

export interface CompatDeps {
  readonly store: ChannelStore;
  readonly clock: Clock;
  readonly limits: SignalingLimits;
}

/** One compat call: the request body in, the response body out. Fails with a ConnectError. */
export type CompatApi = (body: JsonValue) => Promise<JsonObject>;

type Method = (deps: CompatDeps, req: JsonObject) => Promise<JsonObject>;

// Store failures whose SignalingService wording names RPCs this protocol does not have.
const compatWording: Partial<Record<StoreFailure, (id: string) => string>> = {
  "no-offer": (id) => `channel ${id} has no offer yet; create_answer needs create_offer first`,
};

const methods: Record<string, Method> = {
  async create_data_channel({ store, clock, limits }) {
    const now = clock.now();
    const state = await store.createChannel({
      id: newChannelId(),
      offererTokenHash: compatTokenHash,
      createTime: now,
      expireTime: now + limits.defaultTtlMs,
    });
    return { channel_id: state.id };
  },

  async create_offer({ store, limits }, req) {
    const id = channelIdOf(req);
    const text = descriptionToStore("offer", field(req, "offer"), limits);
    await writableChannel(store, id);
    await store.setOffer(id, text);
    return {};
  },

  async get_offer({ store }, req) {
    return { offer: descriptionOf(await liveChannel(store, channelIdOf(req)), "offer") };
  },

  async create_answer({ store, limits }, req) {
    const id = channelIdOf(req);
    const text = descriptionToStore("answer", field(req, "answer"), limits);
    await writableChannel(store, id);
    await store.setAnswer(id, text, compatTokenHash);
    return {};
  },

  async get_answer({ store }, req) {
    const state = await liveChannel(store, channelIdOf(req));
    if (!createdThroughCompat(state)) {
      throw new ConnectError(
        `channel ${state.id} was created through SignalingService: its answer is for its offerer, who reads it with GetAnswer or WatchChannel`,
        Code.PermissionDenied,
      );
    }
    return { answer: descriptionOf(state, "answer") };
  },

  async create_candidate({ store, limits }, req) {
    const id = channelIdOf(req);
    const candidate = candidateToStore(field(req, "candidate"), limits);
    const state = await writableChannel(store, id);
    const present = [...state.candidates.offerer, ...state.candidates.answerer].some((c) => sameCandidate(c.value, candidate));
    if (present) return {};
    const side = compatCandidateSide(state, candidate);
    if (!side) throw new Error(`unreachable: the offerer of compat channel ${id} is always open to compat`);
    await addCandidate(store, id, side, candidate);
    return {};
  },

  async get_candidates({ store }, req) {
    const state = await liveChannel(store, channelIdOf(req));
    // A channel created through SignalingService shows compat readers its offerer's candidates only.
    const shared = createdThroughCompat(state)
      ? [...state.candidates.offerer, ...state.candidates.answerer].sort((a, b) => a.version - b.version)
      : state.candidates.offerer;
    return { items: shared.map((c) => candidateFromStore(c.value)) };
  },
};

export const compatMethods: readonly string[] = Object.keys(methods);

/** The single-endpoint JSON API over the channel store. */
export function createCompatApi(deps: CompatDeps): CompatApi {
  return async (body) => {
    if (!isJsonObject(body)) throw invalidArgument("request body", "must be a JSON object with a \"method\" field");
    const name = body["method"];
    if (name === undefined) throw invalidArgument("method", `is required; one of ${compatMethods.join(", ")}`);
    const method = typeof name === "string" && Object.hasOwn(methods, name) ? methods[name] : undefined;
    if (!method) throw invalidArgument("method", `unknown method ${JSON.stringify(name)}; one of ${compatMethods.join(", ")}`);
    try {
      return await method(deps, body);
    } catch (error) {
      throw compatError(error);
    }
  };
}

function compatError(error: unknown): ConnectError {
  if (error instanceof StoreError) {
    const wording = compatWording[error.reason];
    if (wording) return new ConnectError(wording(error.channelId), Code.FailedPrecondition, undefined, undefined, error);
  }
  return toConnectError(error);
}

function field(req: JsonObject, name: string): JsonValue {
  const value = req[name];
  if (value === undefined) throw invalidArgument(name, "is required");
  return value;
}

function channelIdOf(req: JsonObject): string {
  const id = field(req, "channel_id");
  if (typeof id !== "string") throw invalidArgument("channel_id", "must be a string");
  return validChannelId(id);
}

/** The live channel, if it was created through the compat endpoint: no other is ever written through it. */
async function writableChannel(store: ChannelStore, id: string): Promise<ChannelState> {
  const state = await liveChannel(store, id);
  if (!createdThroughCompat(state)) {
    throw new ConnectError(
      `channel ${id} was created through SignalingService: the compat endpoint never writes to it; its peers use SignalingService and their tokens`,
      Code.FailedPrecondition,
    );
  }
  return state;
}

function descriptionOf(state: ChannelState, kind: DescriptionKind): JsonValue {
  const stored = state[kind];
  if (!stored) throw new ConnectError(`channel ${state.id} has no ${kind} yet`, Code.FailedPrecondition);
  return descriptionFromStore(kind, stored.value);
}
