import type { ChannelState, Side } from "../store/channel.js";
import type { ChannelStore } from "../store/store.js";
import { channelNotFound } from "./errors.js";
import { sideOfToken } from "./tokens.js";
import { permissionDenied, presentedToken, validChannelId } from "./validation.js";

/** The live channel; INVALID_ARGUMENT for a malformed id, NOT_FOUND when it is gone. */
export async function liveChannel(store: ChannelStore, channelId: string): Promise<ChannelState> {
  const id = validChannelId(channelId);
  const state = await store.getChannel(id);
  if (!state) throw channelNotFound(id);
  return state;
}

/**
 * The channel and the side `token` belongs to; `onlySide` narrows who may
 * call. UNAUTHENTICATED without a token, PERMISSION_DENIED for a stranger's.
 */
export async function authorize(
  store: ChannelStore,
  channelId: string,
  token: string,
  onlySide?: Side,
): Promise<{ state: ChannelState; side: Side }> {
  const presented = presentedToken(token, channelId);
  const state = await liveChannel(store, channelId);
  const side = sideOfToken(state, presented);
  if (!side) throw permissionDenied(channelId);
  if (onlySide && side !== onlySide) throw permissionDenied(channelId, `only the ${onlySide} may do this`);
  return { state, side };
}
