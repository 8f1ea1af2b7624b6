/**
 * Where the records of a JSON document are: the depth of the shallowest array holding two or more
 * objects in the first chunk (1 for a top-level array, 2 for `{"patients": […]}` or a Bundle's
 * `entry`). ROOT_VALUES when the chunk holds several top-level values (NDJSON without the file
 * name saying so) or no such array (one document: it is the record).
 */
export const ROOT_VALUES = -1;

const MAX_DEPTH = 512;

export function learnJsonListDepth(buf: Uint8Array, from: number, to: number): number {
  const isArray = new Uint8Array(MAX_DEPTH + 1);
  const objects = new Int32Array(MAX_DEPTH + 1);
  let depth = 0;
  let rootValues = 0;
  let best = Number.MAX_SAFE_INTEGER;
  let inStr = false;
  for (let i = from; i < to; i++) {
    const b = buf[i] as number;
    if (inStr) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inStr = false;
      continue;
    }
    if (b === 0x22) inStr = true;
    else if (b === 0x7b || b === 0x5b) {
      if (depth > 0 && isArray[depth] === 1 && b === 0x7b) {
        const n = (objects[depth] as number) + 1;
        objects[depth] = n;
        if (n >= 2 && depth < best) best = depth;
      }
      if (depth < MAX_DEPTH) {
        depth++;
        isArray[depth] = b === 0x5b ? 1 : 0;
        objects[depth] = 0;
      }
    } else if (b === 0x7d || b === 0x5d) {
      if (depth > 0 && --depth === 0) rootValues++;
    }
  }
  if (rootValues >= 2 || best === Number.MAX_SAFE_INTEGER) return ROOT_VALUES;
  return best;
}
