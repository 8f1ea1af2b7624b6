import type { HitKind, HitRecord } from './scan-types.js';

/**
 * A scan's hits as columns, sorted by file, then line, tenant, patient and kind (hit i is
 * files[file[i]], line[i], …). A scan against a vault of 485,000 patients has about 700,000 of
 * them: making a HitRecord object for each took half a second of the scan's serial tail and kept
 * them all in the heap while the report and the details file were written; the report reads these
 * numbers instead. records() makes the objects, for tests and small results.
 */
export class HitColumns {
  constructor(
    readonly files: readonly string[],
    readonly file: Int32Array,
    readonly tenant: Int32Array,
    readonly patient: Float64Array,
    /** 0: BSN, 1: name + birth date ("bsn" sorts before "name-date"). */
    readonly kind: Uint8Array,
    readonly line: Float64Array,
    readonly categories: Int32Array,
    readonly count: Float64Array,
  ) {
    const n = file.length;
    if ([tenant, patient, kind, line, categories, count].some((c) => c.length !== n))
      throw new RangeError('hit columns: the columns differ in length');
  }

  /** Zeroed columns for n hits in `files` (filled by HitTable.copySorted). */
  static ofLength(files: readonly string[], n: number): HitColumns {
    return new HitColumns(
      files,
      new Int32Array(n),
      new Int32Array(n),
      new Float64Array(n),
      new Uint8Array(n),
      new Float64Array(n),
      new Int32Array(n),
      new Float64Array(n),
    );
  }

  get length(): number {
    return this.file.length;
  }

  /**
   * Whether hits i and j name the same patient at the same line of the same file: its kinds there
   * are adjacent, and are one location (one line of --details). An ordinal is one tenant's patient.
   */
  sameLocation(i: number, j: number): boolean {
    return this.patient[i] === this.patient[j] && this.file[i] === this.file[j] && this.line[i] === this.line[j];
  }

  kindOf(i: number): HitKind {
    return this.kind[i] === 0 ? 'bsn' : 'name-date';
  }

  records(): HitRecord[] {
    const out: HitRecord[] = [];
    for (let i = 0; i < this.length; i++)
      out.push({
        tenant: this.tenant[i] as number,
        patient: this.patient[i] as number,
        kind: this.kindOf(i),
        file: this.files[this.file[i] as number] as string,
        line: this.line[i] as number,
        categories: this.categories[i] as number,
        count: this.count[i] as number,
      });
    return out;
  }
}
