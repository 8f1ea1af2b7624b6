import cliProgress from 'cli-progress';

/**
 * A progress bar on stderr (bytes done, records, rate, ETA), only when stderr is a terminal
 * (CLI.md: never in pipes or --json captures). Starts on the first update, when the total is known.
 */
export interface Progress {
  update(p: { bytes: number; totalBytes: number; records: number }): void;
  stop(): void;
}

export function progressBar(): Progress {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const started = Date.now();
  let bar: cliProgress.SingleBar | null = null;
  return {
    update({ bytes, totalBytes, records }) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: '{bar} {percentage}% | {records} records | {rate}/s | ETA {eta_formatted}',
            hideCursor: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(totalBytes, 1), 0, { records: 0, rate: 0 });
      }
      const secs = (Date.now() - started) / 1000;
      bar.update(bytes, { records, rate: secs > 0 ? Math.round(records / secs) : 0 });
    },
    stop() {
      bar?.stop();
    },
  };
}

/** A progress bar over bytes (scans): MB done, MB/s, ETA; only on a terminal, like progressBar. */
export function byteProgressBar(): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const started = Date.now();
  let bar: cliProgress.SingleBar | null = null;
  return {
    update(done, total) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: '{bar} {percentage}% | {mb} MB | {rate} MB/s | ETA {eta_formatted}',
            hideCursor: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(total, 1), 0, { mb: 0, rate: 0 });
      }
      const secs = (Date.now() - started) / 1000;
      bar.update(done, { mb: Math.round(done / 1e6), rate: secs > 0 ? Math.round(done / 1e6 / secs) : 0 });
    },
    stop() {
      bar?.stop();
    },
  };
}
