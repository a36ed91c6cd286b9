/**
 * Runs `task` every `intervalMs`, each run starting only after the previous
 * one finished, until stopped. Real timers, unref'd: they never keep the
 * process alive.
 */
export function repeat(intervalMs: number, task: () => Promise<void>): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void task().finally(schedule), intervalMs);
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
