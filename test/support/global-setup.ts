import { execFileSync } from 'node:child_process';

/** CLI end-to-end tests run the real binary (dist/cli/main.js): build it once before the suite. */
export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
