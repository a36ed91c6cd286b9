import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { IceService } from "../../gen/signaling/v1/ice_pb.js";
import { Health } from "../../gen/health/v1/health_pb.js";
import { SignalingService } from "../../gen/signaling/v1/signaling_pb.js";
import { RoomService } from "../../gen/signaling/v1/room_pb.js";
import { registerReflection } from "./reflection/reflection-service.js";

export interface Services {
  readonly signaling: ServiceImpl<typeof SignalingService>;
  readonly ice: ServiceImpl<typeof IceService>;
  readonly rooms: ServiceImpl<typeof RoomService>;
  readonly health: ServiceImpl<typeof Health>;
}

/** Every service this server exposes, on one router. */
export default function routes(services: Services) {
  return (router: ConnectRouter) => {
    router.service(SignalingService, services.signaling);
    router.service(IceService, services.ice);
    router.service(RoomService, services.rooms);
    router.service(Health, services.health);
    // Last: reflection describes every service registered before it.
    registerReflection(router);
  };
}
