// Shared benchmark helpers: every benchmark reports medians and p99 beside a baseline measured in the same run.
import { performance } from 'node:perf_hooks';

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

export function stats(samplesMs: number[]): Stats {
  const s = [...samplesMs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return {
    n: s.length,
    p50: q(0.5),
    p99: q(0.99),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    max: s[s.length - 1] ?? NaN,
  };
}

/** Times fn n times (after a short warm-up) and returns per-call statistics in milliseconds. */
export async function measure(
  n: number,
  fn: (i: number) => unknown,
  warmup = Math.min(200, n),
): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const samples = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    samples[i] = performance.now() - t;
  }
  return stats(samples);
}

export function fmtMs(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`;
}

export interface BenchLine {
  name: string;
  value: string;
  /** What it is compared with, measured in the same run, or the aim it is held to. */
  anchor?: string;
}

export function printSection(title: string, lines: BenchLine[]): void {
  console.log(`\n## ${title}`);
  for (const l of lines) console.log(`- ${l.name}: ${l.value}${l.anchor ? `   [${l.anchor}]` : ''}`);
}
