/** The `protocol` values metrics and spans use, by index. */
export const protocolNames = ["connect", "grpc", "grpc-web"] as const;

/** 0 connect, 1 grpc, 2 grpc-web, from the request's content type (Connect GET requests have none). */
export function protocolIndex(contentType: string | null): number {
  if (contentType === null || !contentType.startsWith("application/grpc")) return 0;
  return contentType.startsWith("application/grpc-web") ? 2 : 1;
}
