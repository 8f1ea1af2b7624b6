// Builds the native addons with node-gyp against Node's own headers: the per-record cryptography
// (binding.gyp at the root) and the leak scan's record path (native/leak-extract, native/leak-match),
// each in its own directory so that one can be rebuilt while another is loaded.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// npm runs this with the node-gyp it bundles named in npm_config_node_gyp (as for `node-gyp rebuild`).
const gyp = process.env.npm_config_node_gyp;
if (!gyp) throw new Error('run through npm (npm run build:native), which provides node-gyp');
const only = process.argv.slice(2);
for (const dir of ['.', 'native/leak-extract', 'native/leak-match']) {
  if (only.length > 0 && !only.includes(dir)) continue;
  if (!existsSync(path.join(root, dir, 'binding.gyp'))) continue;
  execFileSync(process.execPath, [gyp, 'rebuild', '-C', dir], { cwd: root, stdio: 'inherit' });
}
