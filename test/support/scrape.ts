/** One scrape of a Prometheus text endpoint: every sample by `name{labels}` exactly as written. */
export class Scrape {
  private constructor(
    readonly text: string,
    private readonly samples: ReadonlyMap<string, number>,
  ) {}

  static async of(url: string): Promise<Scrape> {
    const res = await fetch(url);
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
    const text = await res.text();
    const samples = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const at = line.lastIndexOf(" ");
      samples.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
    return new Scrape(text, samples);
  }

  /** The sample `name` with exactly these labels (in any order), or 0 when absent. */
  value(name: string, labels: Record<string, string> = {}): number {
    for (const [key, value] of this.samples) {
      if (sampleName(key) === name && sameLabels(sampleLabels(key), labels)) return value;
    }
    return 0;
  }

  /** The samples of `name` whose labels include `labels`, as "labels → value" (for whole-family comparisons). */
  family(name: string, labels: Record<string, string> = {}): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, value] of this.samples) {
      const own = sampleLabels(key);
      if (sampleName(key) === name && Object.entries(labels).every(([k, v]) => own[k] === v)) {
        out.set(Object.entries(own).map(([k, v]) => `${k}=${v}`).join(","), value);
      }
    }
    return out;
  }
}

/** What changed between two scrapes of a family: labels → after − before, zero changes left out. */
export function moved(before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}): Record<string, number> {
  const was = before.family(name, labels);
  const out: Record<string, number> = {};
  for (const [key, value] of after.family(name, labels)) {
    const delta = value - (was.get(key) ?? 0);
    if (delta !== 0) out[key] = delta;
  }
  return out;
}

function sampleName(key: string): string {
  const brace = key.indexOf("{");
  return brace === -1 ? key : key.slice(0, brace);
}

function sampleLabels(key: string): Record<string, string> {
  const brace = key.indexOf("{");
  if (brace === -1) return {};
  const labels: Record<string, string> = {};
  for (const match of key.slice(brace + 1, -1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!;
  return labels;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
