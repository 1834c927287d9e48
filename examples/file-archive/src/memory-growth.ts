/** What one operation added to the process's memory: resident set size before it and at its peak. */
export interface MemoryGrowth {
  /** RSS just before the operation, in bytes. */
  baseline: number
  /** The highest RSS sampled while it ran, in bytes. */
  peak: number
}

/**
 * Runs `operation` while sampling the RSS every `intervalMs`: the growth over the baseline is
 * what the operation cost, which the process's all-time peak (`maxRSS`) does not tell apart
 * from the runtime, the modules and everything else loaded before.
 */
export async function measureMemoryGrowth<T>(
  operation: () => Promise<T>,
  intervalMs = 10,
): Promise<{ result: T; memory: MemoryGrowth }> {
  const baseline = process.memoryUsage.rss()
  let peak = baseline
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage.rss())
  }
  const timer = setInterval(sample, intervalMs)
  try {
    const result = await operation()
    sample()
    return { result, memory: { baseline, peak } }
  } finally {
    clearInterval(timer)
  }
}
