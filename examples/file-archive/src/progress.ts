/**
 * A progress bar for large transfers, fed by the `onProgress` of a hashing stream. On a
 * terminal it redraws one line; elsewhere (a pipe, a CI log) it prints a line at every
 * quarter, so logs stay readable.
 */

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

export interface Progress {
  /** Bytes done so far. */
  update(bytes: number): void
  /** Finishes the bar (prints the final state). */
  done(): void
}

export interface ProgressOptions {
  /** Files smaller than this get no bar. Default 8 MiB. */
  threshold?: number
  /** Where to draw. Default stderr, so stdout stays clean for pipes. */
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }
}

const NOTHING: Progress = { update: () => {}, done: () => {} }

export const DEFAULT_PROGRESS_THRESHOLD = 8 * 1024 * 1024

export function progressBar(label: string, total: number, options: ProgressOptions = {}): Progress {
  const threshold = options.threshold ?? DEFAULT_PROGRESS_THRESHOLD
  if (total < threshold) return NOTHING
  const out = options.out ?? process.stderr
  const started = performance.now()
  let lastDraw = 0
  let lastQuarter = 0
  let current = 0
  let finished = false

  const line = (): string => {
    const fraction = total === 0 ? 1 : Math.min(current / total, 1)
    const seconds = (performance.now() - started) / 1000
    const rate = seconds > 0 ? `${formatBytes(current / seconds)}/s` : ''
    const width = 24
    const filled = Math.round(fraction * width)
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`
    return `${label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(current)} / ${formatBytes(total)} ${rate}`
  }

  return {
    update(bytes) {
      current = bytes
      if (out.isTTY) {
        const now = performance.now()
        if (now - lastDraw < 100) return
        lastDraw = now
        out.write(`\r${line()}\u001b[K`)
      } else {
        const quarter = Math.floor((current / total) * 4)
        if (quarter > lastQuarter && quarter < 4) {
          lastQuarter = quarter
          out.write(`${line()}\n`)
        }
      }
    },
    done() {
      if (finished) return
      finished = true
      current = Math.max(current, total)
      out.write(out.isTTY ? `\r${line()}\u001b[K\n` : `${line()}\n`)
    },
  }
}
