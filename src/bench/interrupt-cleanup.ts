import { rm } from 'node:fs/promises';
import type { BenchServer } from './bench-server.js';

/**
 * Ctrl-C during a benchmark or drill: stop its server, remove its temporary work dir (the vault
 * there holds its keyring next to its data, so it must go too), exit 130/143. Returns the function
 * that removes the handlers once the run ends normally.
 */
export function cleanUpOnInterrupt(work: string, server: () => BenchServer | null): () => void {
  const interrupted = (signal: NodeJS.Signals): void => {
    void (
      server()
        ?.stop()
        .catch(() => undefined) ?? Promise.resolve()
    )
      .then(() => rm(work, { recursive: true, force: true }))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  return () => {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  };
}
