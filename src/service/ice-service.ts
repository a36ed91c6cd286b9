import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { GetIceServersRequest, IceServerSchema } from "../../gen/signaling/v1/ice_pb.js";
import { IceService } from "../../gen/signaling/v1/ice_pb.js";
import type { Clock } from "../lib/clock.js";
import type { Secret } from "../lib/secret.js";
import type { ChannelStore } from "../store/store.js";
import type { RoomStore } from "../store/room-store.js";
import { authorize } from "./channel-access.js";
import { authorizeMember } from "./room-access.js";
import { validRoomName } from "./room-validation.js";
import { newCredentialId, turnRestCredential } from "./turn-credentials.js";

export type IceServerInit = MessageInitShape<typeof IceServerSchema>;

/** TURN servers that take TURN REST credentials minted with a shared secret. */
export interface TurnRestConfig {
  readonly urls: readonly string[];
  /** The secret shared with the TURN server (coturn's static-auth-secret). Never sent, never logged. */
  readonly secret: Secret;
  /** How long a minted credential is accepted. */
  readonly ttlSeconds: number;
}

/** The ICE servers the operator configured. */
export interface IceConfig {
  /** STUN/TURN entries returned as configured. */
  readonly staticServers: readonly IceServerInit[];
  /** Absent when no TURN REST server is configured. */
  readonly turnRest: TurnRestConfig | undefined;
  /**
   * Only a caller presenting a live channel's token or a live room session
   * gets ICE servers (and TURN credentials); its channel or session id goes
   * into the TURN username.
   */
  readonly requireToken: boolean;
}

export interface IceServiceDeps {
  readonly store: ChannelStore;
  readonly roomStore: RoomStore;
  readonly clock: Clock;
  readonly ice: IceConfig;
}

type Impl = ServiceImpl<typeof IceService>;

/** IceService: the configured STUN/TURN servers, with fresh TURN REST credentials per call. */
export class IceHandlers implements Impl {
  constructor(private readonly deps: IceServiceDeps) {}

  async getIceServers(req: GetIceServersRequest) {
    const { clock, ice } = this.deps;
    const holder = ice.requireToken ? await this.holder(req) : undefined;
    return iceServersFor(ice, clock, holder);
  }

  /**
   * The id of what the caller holds: the channel whose token it presented,
   * or the room session it proved. UNAUTHENTICATED when it presents neither.
   */
  private async holder(req: GetIceServersRequest): Promise<string> {
    if (req.channelId !== "" || req.token !== "") return (await authorize(this.deps.store, req.channelId, req.token)).state.id;
    if (req.room !== "" || req.session) {
      const { roomStore, clock } = this.deps;
      return (await authorizeMember(roomStore, clock, validRoomName(req.room), req.session)).member.sessionId;
    }
    throw new ConnectError(
      "this server hands out ICE servers only to a peer that holds a channel token (channel_id and token) or a room session (room and session)",
      Code.Unauthenticated,
    );
  }
}

/**
 * The configured ICE servers, static ones first, then the TURN REST servers with a credential minted now for
 * `holder` (the channel or room session id the caller proved; a random id when none), living the configured TTL.
 * `expireTime` is set when a credential was minted. GetIceServers and CreateChannel both answer with this.
 */
export function iceServersFor(ice: IceConfig, clock: Clock, holder: string | undefined): { iceServers: IceServerInit[]; expireTime?: Timestamp } {
  const iceServers = [...ice.staticServers];
  if (!ice.turnRest) return { iceServers };
  const expiry = Math.floor(clock.now() / 1000) + ice.turnRest.ttlSeconds;
  const minted = turnRestCredential(ice.turnRest.secret.reveal(), expiry, holder ?? newCredentialId());
  iceServers.push({ urls: [...ice.turnRest.urls], ...minted });
  return { iceServers, expireTime: timestampFromMs(expiry * 1000) };
}

/** The IceService implementation to register on a router. */
export function createIceService(deps: IceServiceDeps): Impl {
  return new IceHandlers(deps);
}
