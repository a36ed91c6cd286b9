import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { IceService } from "../../gen/signaling/v1/ice_pb.js";
import { SignalingService } from "../../gen/signaling/v1/signaling_pb.js";

export interface Services {
  readonly signaling: ServiceImpl<typeof SignalingService>;
  readonly ice: ServiceImpl<typeof IceService>;
}

/** Every service this server exposes, on one router. */
export default function routes(services: Services) {
  return (router: ConnectRouter) => {
    router.service(SignalingService, services.signaling);
    router.service(IceService, services.ice);
  };
}
