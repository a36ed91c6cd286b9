import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { GetIceServersRequest, IceServerSchema } from "../../gen/signaling/v1/ice_pb.js";
import { IceService } from "../../gen/signaling/v1/ice_pb.js";
import type { Clock } from "../lib/clock.js";
import type { Secret } from "../lib/secret.js";
import type { ChannelStore } from "../store/store.js";
import { authorize } from "./channel-access.js";
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
  /** Only holders of a channel token may call GetIceServers. */
  readonly requireToken: boolean;
}

export interface IceServiceDeps {
  readonly store: ChannelStore;
  readonly clock: Clock;
  readonly ice: IceConfig;
}

type Impl = ServiceImpl<typeof IceService>;

/** IceService: the configured STUN/TURN servers, with fresh TURN REST credentials per call. */
export class IceHandlers implements Impl {
  constructor(private readonly deps: IceServiceDeps) {}

  async getIceServers(req: GetIceServersRequest) {
    const { store, clock, ice } = this.deps;
    if (ice.requireToken) await authorize(store, req.channelId, req.token);
    const iceServers = [...ice.staticServers];
    if (!ice.turnRest) return { iceServers };
    const expiry = Math.floor(clock.now() / 1000) + ice.turnRest.ttlSeconds;
    const minted = turnRestCredential(ice.turnRest.secret.reveal(), expiry, newCredentialId());
    iceServers.push({ urls: [...ice.turnRest.urls], ...minted });
    return { iceServers, expireTime: timestampFromMs(expiry * 1000) };
  }
}

/** The IceService implementation to register on a router. */
export function createIceService(deps: IceServiceDeps): Impl {
  return new IceHandlers(deps);
}
