/** FNV-1a 32-bit hash of a string mapped to [0, 1): a stable, well-spread split for A/B and weights. */
export const unitHash = (input: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  // final avalanche (murmur3 fmix32) so similar inputs spread evenly
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b) >>> 0
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35) >>> 0
  h ^= h >>> 16
  return (h >>> 0) / 0x1_0000_0000
}
