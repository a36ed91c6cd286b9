import type { MaybePromise } from "../lib/maybe-promise.js";
import { andThen } from "../lib/maybe-promise.js";
import type { ChannelState, Side } from "../store/channel.js";
import type { ChannelStore } from "../store/store.js";
import { compatTokenHash } from "./compat/compat-sides.js";
import { channelNotFound } from "./errors.js";
import { sideOfToken } from "./tokens.js";
import { permissionDenied, presentedToken, validChannelId } from "./validation.js";

/**
 * The live channel; INVALID_ARGUMENT for a malformed id, NOT_FOUND when it is gone.
 * At once (or thrown at once) when the store answers synchronously.
 */
export function liveChannel(store: ChannelStore, channelId: string): MaybePromise<ChannelState> {
  const id = validChannelId(channelId);
  return andThen(store.getChannel(id), (state) => {
    if (!state) throw channelNotFound(id);
    return state;
  });
}

/**
 * The channel and the side `token` belongs to; `onlySide` narrows who may
 * call. UNAUTHENTICATED without a token, PERMISSION_DENIED for a stranger's.
 * At once (or thrown at once) when the store answers synchronously.
 */
export function authorize(store: ChannelStore, channelId: string, token: string, onlySide?: Side): MaybePromise<{ state: ChannelState; side: Side }> {
  // The id is checked first: the errors below quote it, and a client's id of any length must not reach a message.
  const id = validChannelId(channelId);
  const presented = presentedToken(token, id);
  return andThen(liveChannel(store, id), (state) => {
    const side = sideOfToken(state, presented);
    if (!side) throw permissionDenied(id);
    if (onlySide && side !== onlySide) throw permissionDenied(id, `only the ${onlySide} may do this`);
    return { state, side };
  });
}

/**
 * What anyone holding only the channel id may see: the offer side (the
 * offer, the offerer's candidates and end-of-candidates), the answer side
 * left out as if it were not there yet; the version stays the channel's.
 * A channel made through the compat endpoint has no secrets to keep (that
 * protocol has no tokens) and is shown whole.
 */
export function publicView(state: ChannelState): ChannelState {
  if (state.offererTokenHash === compatTokenHash) return state;
  const { answer: _answer, ...rest } = state;
  return {
    ...rest,
    candidates: { offerer: state.candidates.offerer, answerer: [] },
    candidatesComplete: { offerer: state.candidatesComplete.offerer, answerer: undefined },
  };
}

/**
 * The channel as the caller may see it: whole with one of its tokens, its
 * offer side with none. PERMISSION_DENIED for a token that is not one of
 * the channel's.
 */
export async function visibleChannel(store: ChannelStore, channelId: string, token: string): Promise<ChannelState> {
  if (token === "") return publicView(await liveChannel(store, channelId));
  return (await authorize(store, channelId, token)).state;
}

/**
 * The channel, for a read of its answer side: once the channel is answered
 * that needs one of its tokens (UNAUTHENTICATED without, PERMISSION_DENIED
 * for a stranger's); before, there is nothing to hide.
 */
export async function answerSide(store: ChannelStore, channelId: string, token: string): Promise<ChannelState> {
  const state = await liveChannel(store, channelId);
  if (token === "" && (state.answererTokenHash === undefined || publicView(state) === state)) return state;
  const side = sideOfToken(state, presentedToken(token, state.id));
  if (!side) throw permissionDenied(state.id);
  return state;
}
