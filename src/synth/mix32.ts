/**
 * Keyed 32-bit mixing function (murmur3 finaliser over `x ^ key`). Used as the round function of
 * the small Feistel networks that turn counters into unique-but-random-looking numbers: a Feistel
 * network is a bijection whatever its round function, so uniqueness never depends on luck.
 */
export function mix32(x: number, key: number): number {
  let h = (x ^ key) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
