/** mulberry32: a small, fast, seedable PRNG, so a fault sequence replays from its seed. */
export const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A latency from a log-normal distribution with the given median and 99th percentile, drawn with
 * two uniforms (Box-Muller).
 */
export const latency = (next: () => number, p50: number, p99: number): number => {
  if (p50 <= 0 && p99 <= 0) return 0
  const median = Math.max(0.001, p50)
  const sigma = Math.max(0, Math.log(Math.max(p99, median) / median) / 2.3263)
  const z = Math.sqrt(-2 * Math.log(Math.max(1e-12, next()))) * Math.cos(2 * Math.PI * next())
  return Math.max(0, median * Math.exp(sigma * z))
}
