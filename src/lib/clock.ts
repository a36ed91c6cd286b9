/**
 * Time as the service sees it. Everything that reads the time or waits for
 * it goes through a Clock, so tests can drive expiry and keep-alives with a
 * fake one instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `callback` once after `delayMs`; the returned function cancels it. */
  schedule(delayMs: number, callback: () => void): Cancel;
}

export type Cancel = () => void;

// setTimeout overflows past this and fires at once.
const maxTimerDelayMs = 2 ** 31 - 1;

/** The real clock. Its timers never keep the process alive on their own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(delayMs, callback) {
    const timer = setTimeout(callback, Math.min(Math.max(0, delayMs), maxTimerDelayMs));
    timer.unref();
    return () => clearTimeout(timer);
  },
};
