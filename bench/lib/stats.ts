/** Medians, spreads and interleaved timing: what makes numbers from a noisy machine usable. */

export interface Summary {
  /** Median, in the sample's unit. */
  median: number
  p25: number
  p75: number
  min: number
  max: number
  n: number
  /** Interquartile range relative to the median, in percent. */
  spreadPct: number
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const at = (sorted.length - 1) * q
  const low = Math.floor(at)
  const high = Math.ceil(at)
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low)
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b)
  const median = quantile(sorted, 0.5)
  const p25 = quantile(sorted, 0.25)
  const p75 = quantile(sorted, 0.75)
  return {
    median,
    p25,
    p75,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    n: sorted.length,
    spreadPct: median > 0 ? ((p75 - p25) / median) * 100 : 0,
  }
}

export type Task = () => Promise<unknown>

/**
 * Times `subject` and `reference` alternately (ABBA...), so drift and noise hit both
 * alike, after `warmup` untimed runs of each. Milliseconds.
 */
export async function timePair(
  subject: Task,
  reference: Task,
  options: { reps: number; warmup: number },
): Promise<{ subject: number[]; reference: number[] }> {
  for (let i = 0; i < options.warmup; i++) {
    await subject()
    await reference()
  }
  const times = { subject: [] as number[], reference: [] as number[] }
  const once = async (which: 'subject' | 'reference'): Promise<void> => {
    const task = which === 'subject' ? subject : reference
    const started = performance.now()
    await task()
    times[which].push(performance.now() - started)
  }
  for (let i = 0; i < options.reps; i++) {
    if (i % 2 === 0) {
      await once('subject')
      await once('reference')
    } else {
      await once('reference')
      await once('subject')
    }
  }
  return times
}

/** Times several tasks round-robin (rotating the order each round). Milliseconds. */
export async function timeMany(
  tasks: Record<string, Task>,
  options: { reps: number; warmup: number },
): Promise<Record<string, number[]>> {
  const names = Object.keys(tasks)
  for (let i = 0; i < options.warmup; i++) for (const name of names) await tasks[name]!()
  const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]))
  for (let i = 0; i < options.reps; i++) {
    const order = names.map((_, index) => names[(index + i) % names.length]!)
    for (const name of order) {
      const started = performance.now()
      await tasks[name]!()
      times[name]!.push(performance.now() - started)
    }
  }
  return times
}

/** `1.234` ms → `1.23 ms`, `1234` → `1.23 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—'
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`
  if (ms >= 100) return `${ms.toFixed(0)} ms`
  if (ms >= 10) return `${ms.toFixed(1)} ms`
  return `${ms.toFixed(2)} ms`
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${+(bytes / 1024 ** 3).toFixed(2)} GiB`
  if (bytes >= 1024 ** 2) return `${+(bytes / 1024 ** 2).toFixed(1)} MiB`
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`
  return `${bytes} B`
}
