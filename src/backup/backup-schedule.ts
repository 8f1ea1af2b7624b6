import type { BackupService } from './backup-service.js';
import type { AccessContext } from '../domain/principal.js';

/**
 * `serve`'s scheduled backups: one every `intervalSeconds`, never two at once (a copy that takes
 * longer than the interval delays the next, it does not pile up). A failure is reported and the
 * next one tried at its time; `stop` waits for a copy in progress.
 */
export function scheduleBackups(
  backups: BackupService,
  ctx: AccessContext,
  intervalSeconds: number,
  onError: (what: string, e: unknown) => void,
  /** Asked before each copy (serve: not once the store failed its integrity check). */
  healthy: () => boolean = () => true,
): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  let stopped = false;
  const timer = setInterval(() => {
    if (running || stopped || !healthy()) return;
    running = backups
      .create(ctx)
      .then(() => undefined)
      .catch((e: unknown) => onError('scheduled backup', e))
      .finally(() => {
        running = null;
      });
  }, intervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
