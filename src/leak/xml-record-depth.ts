/**
 * Where the records of an XML document are: the shallowest depth (root element = 1) at which an
 * element with child elements is followed by a sibling of the same name — `<patient>` in
 * `<patients><patient>…</patient><patient>…`, `<entry>` in a FHIR Bundle — learned from the first
 * chunk; unless a deeper run of such siblings is far longer (at least DEEPER_RUN, and more than
 * 4× the shallower one's): then the longest. A header that lists two sources before thousands of
 * patients (`<bron>…</bron><bron>…</bron><gegevens><patient>…`) would otherwise make the data one
 * record, while repeated elements inside the records (a report's `<result>`s inside a Bundle's
 * `<entry>`s) never outvote them, however many.
 * Without a repetition the whole document is one record when the chunk holds all of it, else the
 * root's children are the records.
 */
const MAX_DEPTH = 512;
const DEEPER_RUN = 8;

function isNameByte(b: number): boolean {
  return b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x3e && b !== 0x2f;
}

export function learnXmlRecordDepth(buf: Uint8Array, from: number, to: number, whole: boolean): number {
  const lastWithChildren = new Int32Array(MAX_DEPTH + 2);
  const hasChildren = new Uint8Array(MAX_DEPTH + 2);
  const nameHash = new Int32Array(MAX_DEPTH + 2);
  /** Length of the current run of same-name siblings with children at each depth, and the longest. */
  const run = new Int32Array(MAX_DEPTH + 2);
  const longest = new Int32Array(MAX_DEPTH + 2);
  /** Per depth: the name of the elements of its longest run, and the names of their ancestors. */
  const runName = new Int32Array(MAX_DEPTH + 2);
  const ancestors: (Int32Array | null)[] = [];
  let depth = 0;
  let i = from;
  while (i < to) {
    if (buf[i] !== 0x3c) {
      i++;
      continue;
    }
    const next = buf[i + 1];
    if (next === 0x21 || next === 0x3f) {
      // Comment, CDATA, doctype, processing instruction: no elements inside.
      const close = next === 0x21 && buf[i + 2] === 0x2d ? '-->' : next === 0x21 && buf[i + 2] === 0x5b ? ']]>' : '>';
      const end = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).indexOf(close, i + 2);
      i = end < 0 ? to : end + close.length;
      continue;
    }
    const closing = next === 0x2f;
    let j = closing ? i + 2 : i + 1;
    let h = 0x811c9dc5;
    while (j < to && isNameByte(buf[j] as number)) h = Math.imul(h ^ (buf[j++] as number), 0x01000193);
    let end = j;
    while (end < to && buf[end] !== 0x3e) end++;
    const selfClosing = !closing && buf[end - 1] === 0x2f;
    if (closing) {
      if (depth > 0) {
        if (hasChildren[depth] === 1) lastWithChildren[depth] = nameHash[depth] as number;
        depth--;
      }
    } else if (depth < MAX_DEPTH) {
      hasChildren[depth] = 1;
      depth++;
      if (lastWithChildren[depth] === h && h !== 0 && depth >= 2) {
        const n = (run[depth] as number) + 1;
        run[depth] = n;
        if (n > (longest[depth] as number)) {
          longest[depth] = n;
          runName[depth] = h;
          ancestors[depth] = nameHash.slice(0, depth);
        }
      } else run[depth] = 1;
      nameHash[depth] = h;
      hasChildren[depth] = 0;
      lastWithChildren[depth + 1] = 0;
      run[depth + 1] = 0;
      if (selfClosing) depth--;
    }
    i = end + 1;
  }
  let best = 0;
  for (let d = 2; d <= MAX_DEPTH; d++) {
    const n = longest[d] as number;
    if (n < 2) continue;
    if (best === 0) best = d;
    // Not when the deeper run lies inside elements of the shallower run (a report's many results
    // inside a Bundle's entries): those are the records, and the deeper elements parts of them.
    else if (n >= DEEPER_RUN && n > 4 * (longest[best] as number) && ancestors[d]?.[best] !== runName[best]) best = d;
  }
  if (best !== 0) return best;
  return whole ? 1 : 2;
}
