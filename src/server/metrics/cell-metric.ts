import type { Registry } from "prom-client";

type Labels = Readonly<Record<string, string>>;
type Sample = { readonly value: number; readonly labels: Readonly<Record<string, string | number>>; readonly metricName?: string };

/** A number the hot path changes in place (`cell.value++`); read when the registry is scraped. */
export class ValueCell {
  value = 0;
  constructor(readonly labels: Labels) {}
}

/** Bucket counts of one label set; `observe` is a few comparisons and three additions. */
export class HistogramCell {
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A metric family whose values live in plain cells, one per label set, made
 * once and kept by the caller: the per-call cost is an increment, with no
 * label hashing or objects (prom-client's own metrics hash their labels on
 * every `inc`/`observe`). prom-client's registry reads the cells when scraped,
 * through the same `get()` its own metrics have.
 */
abstract class CellFamily<C extends { readonly labels: Labels }> {
  private readonly cells = new Map<string, C>();
  readonly aggregator = "sum";

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The cell of these label values (in labelNames order); made on first use. Keep it: this call allocates. */
  cell(...values: string[]): C {
    const key = values.join("\u0000");
    let cell = this.cells.get(key);
    if (!cell) {
      cell = this.make(Object.fromEntries(this.labelNames.map((name, i) => [name, values[i] ?? ""])));
      this.cells.set(key, cell);
    }
    return cell;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const cell of this.cells.values()) this.samples(cell, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.cells.clear();
  }

  protected abstract make(labels: Labels): C;
  protected abstract samples(cell: C, into: Sample[]): void;
}

/** A counter or gauge family over ValueCells. */
export class ValueFamily extends CellFamily<ValueCell> {
  constructor(name: string, help: string, type: "counter" | "gauge", labelNames: readonly string[], registry: Registry) {
    super(name, help, type, labelNames, registry);
  }

  protected make(labels: Labels): ValueCell {
    return new ValueCell(labels);
  }

  protected samples(cell: ValueCell, into: Sample[]): void {
    into.push({ value: cell.value, labels: cell.labels });
  }
}

/** A histogram family over HistogramCells with fixed bucket bounds (seconds, ascending). */
export class HistogramFamily extends CellFamily<HistogramCell> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, "histogram", labelNames, registry);
  }

  protected make(labels: Labels): HistogramCell {
    return new HistogramCell(labels, this.bounds);
  }

  protected samples(cell: HistogramCell, into: Sample[]): void {
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += cell.counts[i]!;
      const le = i < this.bounds.length ? this.bounds[i]! : "+Inf";
      into.push({ value: cumulative, labels: { ...cell.labels, le }, metricName: `${this.name}_bucket` });
    }
    into.push({ value: cell.sum, labels: cell.labels, metricName: `${this.name}_sum` });
    into.push({ value: cell.count, labels: cell.labels, metricName: `${this.name}_count` });
  }
}
