import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

/**
 * Preloaded (`node --import`) into a process a benchmark runs as a child: at exit it writes the
 * process's peak resident set (getrusage maxrss, every thread included) to the descriptor the
 * benchmark names in BENCH_PEAK_RSS_FD, a pipe it opened. A child's peak is not otherwise visible
 * to Node, and sampling its /proc entry misses whatever it allocates between samples. Worker
 * threads inherit the preload: only the main thread reports, and without the variable (the hook
 * loaded by hand) nothing is written anywhere.
 */
const fd = Number(process.env.BENCH_PEAK_RSS_FD);
if (isMainThread && Number.isInteger(fd) && fd > 2) {
  process.on('exit', () => {
    try {
      writeSync(fd, `${JSON.stringify({ max_rss_kb: process.resourceUsage().maxRSS })}\n`);
    } catch {
      // The benchmark closed its end: it reports the scan without the figure failing it.
    }
  });
}
