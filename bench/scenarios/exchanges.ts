import type { CpuMeter, RateResult, Timing } from "../lib/load.js";
import { closedLoop } from "../lib/load.js";
import { PeerSocket, peerjsExchange, peerjsRelayOnly } from "../peerjs-exchange.js";
import type { RunningTarget, SwitchboardOptions } from "../servers.js";
import { startPeerJs, startSwitchboard } from "../servers.js";
import type { CandidateMode, PeerPair, Protocol } from "../switchboard-exchange.js";
import { peerClient, switchboardExchange } from "../switchboard-exchange.js";

export interface ExchangeRates {
  readonly protocol: Protocol;
  /** How candidates were sent; absent in reports made before AddIceCandidates existed (one call each). */
  readonly candidates?: CandidateMode;
  readonly results: RateResult[];
}

export type Series = { readonly protocol: Protocol; readonly candidates: CandidateMode };

/** The Switchboard series measured by default, the first one being the headline (gRPC, the short exchange). */
export const allSeries: readonly Series[] = [
  { protocol: "grpc", candidates: "short" },
  { protocol: "connect", candidates: "short" },
  { protocol: "grpc", candidates: "batch" },
];

export interface PeerJsRates {
  /** Two peers connect, relay, disconnect: the exchange as the issue defines it for PeerJS. */
  readonly connectAndRelay: RateResult[];
  /** Peers stay connected; only the relay of offer, answer and candidates. */
  readonly relayOnly: RateResult[];
}

export function peerPairs(protocol: Protocol, url: string, count: number): PeerPair[] {
  return Array.from({ length: count }, () => ({ offerer: peerClient(protocol, url), answerer: peerClient(protocol, url) }));
}

async function connectedPeerJsPairs(url: string, count: number) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const [offerer, answerer] = await Promise.all([PeerSocket.open(url), PeerSocket.open(url)]);
      return { offerer, answerer };
    }),
  );
}

/**
 * Scenarios 1 and 5: complete exchanges per second for Switchboard (gRPC,
 * Connect) and PeerJS, interleaved concurrency by concurrency, so that both
 * systems see the same machine conditions. Both servers run for the whole
 * scenario, pinned to the same core; the one not being measured is idle.
 */
export async function sideBySide(
  concurrencies: readonly number[],
  timing: Timing,
  server: SwitchboardOptions,
  include: { readonly switchboard: boolean; readonly peerjs: boolean },
  series: readonly Series[] = allSeries,
  /** Processes serving the Switchboard server (its database) whose CPU per exchange the rows report. */
  companions: readonly CpuMeter[] = [],
): Promise<{ switchboard: ExchangeRates[]; peerjs?: PeerJsRates }> {
  const most = Math.max(...concurrencies);
  const running: RunningTarget[] = [];
  try {
    const switchboard = include.switchboard ? await startSwitchboard(server) : undefined;
    if (switchboard) running.push(switchboard);
    const peerjs = include.peerjs ? await startPeerJs() : undefined;
    if (peerjs) running.push(peerjs);
    const rates: ExchangeRates[] = switchboard ? series.map((s) => ({ ...s, results: [] })) : [];
    const pairs = new Map(rates.map((r) => [r.protocol, peerPairs(r.protocol, switchboard!.url, most)]));
    const peerRates: PeerJsRates = { connectAndRelay: [], relayOnly: [] };
    const peerPairsOpen = peerjs ? await connectedPeerJsPairs(peerjs.url, most) : [];
    for (const concurrency of concurrencies) {
      for (const r of rates) {
        const p = pairs.get(r.protocol)!;
        r.results.push(
          await closedLoop(concurrency, timing, switchboard!.process, (slot, relay) => switchboardExchange(p[slot]!, relay, r.candidates), companions),
        );
      }
      if (peerjs) {
        peerRates.connectAndRelay.push(
          await closedLoop(concurrency, timing, peerjs.process, (_slot, relay) => peerjsExchange(peerjs.url, relay)),
        );
        peerRates.relayOnly.push(
          await closedLoop(concurrency, timing, peerjs.process, (slot, relay) => peerjsRelayOnly(peerPairsOpen[slot]!, relay)),
        );
      }
    }
    await Promise.all(peerPairsOpen.flatMap((p) => [p.offerer.close(), p.answerer.close()]));
    return { switchboard: rates, ...(peerjs && { peerjs: peerRates }) };
  } finally {
    await Promise.all(running.map((t) => t.process.stop()));
  }
}
