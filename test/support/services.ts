/** Every service the server registers, sorted as reflection and `grpcurl list` give them. */
export const servedServices = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "signaling.v1.IceService",
  "signaling.v1.RoomService",
  "signaling.v1.SignalingService",
];
