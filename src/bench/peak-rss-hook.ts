import { writeSync } from 'node:fs';

/**
 * Preloaded (`node --import`) into a process a benchmark runs as a child: at exit it writes the
 * process's peak resident set (getrusage maxrss, every thread included) to file descriptor 3, a
 * pipe the benchmark opened. A child's peak is not otherwise visible to Node, and sampling its
 * /proc entry misses whatever it allocates between samples.
 */
process.on('exit', () => {
  try {
    writeSync(3, `${JSON.stringify({ max_rss_kb: process.resourceUsage().maxRSS })}\n`);
  } catch {
    // No descriptor 3 (the hook loaded by hand): nothing to report to.
  }
});
