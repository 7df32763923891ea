// Comparing two timing distributions (test/timing.test.ts, test/accountTiming.test.ts): a
// seeded order, summaries, and the two-sample Kolmogorov-Smirnov statistic D (the largest gap
// between the empirical CDFs: 0 for identical samples, 1 when every time of one kind is below
// every time of the other).

/** A small seeded PRNG (mulberry32), for a reproducible order. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

export const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** The p-quantile (nearest rank) of sorted values. */
export const quantile = (s: number[], p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];

/** The mean of the values between the `trim` and 1 - `trim` quantiles. */
export function trimmedMean(s: number[], trim = 0.1): number {
  const cut = Math.floor(s.length * trim);
  const kept = s.slice(cut, s.length - cut);
  return kept.reduce((sum, x) => sum + x, 0) / kept.length;
}

/** Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs. */
export function ksStatistic(a: number[], b: number[]): number {
  const x = sorted(a);
  const y = sorted(b);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] <= v) i++;
    while (j < y.length && y[j] <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

export interface Summary {
  n: number;
  p10: number;
  median: number;
  p90: number;
  trimmedMean: number;
}

export function summarize(times: number[]): Summary {
  const s = sorted(times);
  return { n: s.length, p10: quantile(s, 0.1), median: quantile(s, 0.5), p90: quantile(s, 0.9), trimmedMean: trimmedMean(s) };
}

export const ratio = (a: number, b: number) => Math.max(a, b) / Math.min(a, b);
