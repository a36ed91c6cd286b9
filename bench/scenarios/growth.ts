import type { RateResult, Timing } from "../lib/load.js";
import { closedLoop } from "../lib/load.js";
import { round } from "../lib/stats.js";
import type { SwitchboardOptions } from "../servers.js";
import { startSwitchboard } from "../servers.js";
import { switchboardExchange } from "../switchboard-exchange.js";
import { peerClient } from "../switchboard-exchange.js";
import { peerPairs } from "./exchanges.js";

export interface GrowthLevel {
  readonly liveChannels: number;
  readonly preloadSeconds: number;
  readonly rssMiB: number;
  readonly rate: RateResult;
}

/** Creates `count` channels with `concurrency` calls in flight over a few connections. */
async function preload(url: string, count: number, concurrency = 256): Promise<void> {
  const clients = Array.from({ length: 8 }, () => peerClient("grpc", url));
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (next < count) {
        next++;
        await clients[w % clients.length]!.createChannel({ ttl: { seconds: 3600n } });
      }
    }),
  );
}

/** Scenario 4: exchange rate over gRPC with 64 pairs while the store holds `levels` live channels. */
export async function growth(levels: readonly number[], concurrency: number, timing: Timing, server: SwitchboardOptions): Promise<GrowthLevel[]> {
  const out: GrowthLevel[] = [];
  for (const liveChannels of levels) {
    const target = await startSwitchboard({
      ...server,
      args: [...(server.args ?? []), "--max-channels", String(liveChannels + 50_000), "--max-ttl-seconds", "3600"],
    });
    try {
      const t0 = Date.now();
      await preload(target.url, liveChannels);
      const preloadSeconds = (Date.now() - t0) / 1000;
      const pairs = peerPairs("grpc", target.url, concurrency);
      const rate = await closedLoop(concurrency, timing, target.process, (slot, relay) => switchboardExchange(pairs[slot]!, relay));
      out.push({ liveChannels, preloadSeconds: round(preloadSeconds), rssMiB: round(target.process.rssBytes() / 1024 / 1024), rate });
    } finally {
      await target.process.stop();
    }
  }
  return out;
}
