import { inspect } from "node:util";

/**
 * A value that must never be printed: JSON.stringify, String() and
 * console.log/util.inspect all show "[redacted]". Only `reveal()` gives it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return "[redacted]";
  }

  toString(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "[redacted]";
  }
}

/** The value itself, whether it was held as a Secret or as plain text. */
export function revealed(value: string | Secret): string {
  return typeof value === "string" ? value : value.reveal();
}
