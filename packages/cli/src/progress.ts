import { formatBytes, formatCount, formatDuration } from './format.js'

/** What the long operations report as they go (library API: `onProgress`). */
export interface ProgressUpdate {
  /** The task, e.g. `migrate Document.body` or `gc file:/var/lib/files`. */
  task: string
  /** What is counted: `rows`, `objects`. */
  unit: string
  /** Items processed so far in this task. */
  done: number
  /** Items expected, when known. */
  total?: number
  /** Bytes processed so far, when meaningful. */
  bytes?: number
  /** The task ended (completed or stopped). */
  finished?: boolean
}

export type ProgressListener = (update: ProgressUpdate) => void

/** The stream a display writes to: stderr in the CLI. */
export interface ProgressStream {
  write(chunk: string): unknown
  isTTY?: boolean
  columns?: number
}

export interface ProgressDisplayOptions {
  stream: ProgressStream
  /** Draw a bar (terminal) or print plain lines. Default: `stream.isTTY`. */
  tty?: boolean
  /** Without a terminal: one line every this many ms. Default 10 s. */
  intervalMs?: number
  /** Redraws of the bar at most every this many ms. Default 100. */
  redrawMs?: number
  /** Clock, for tests. */
  now?: () => number
}

interface Sample {
  at: number
  done: number
  bytes: number
}

interface TaskState {
  task: string
  unit: string
  started: number
  done: number
  bytes: number
  total: number | undefined
  samples: Sample[]
  lastPrinted: number
  printed: boolean
}

/** Rates are measured over the last few seconds, so an ETA follows speed changes. */
const RATE_WINDOW_MS = 10_000

/**
 * Shows {@link ProgressUpdate}s: on a terminal, one bar redrawn in place with percentage,
 * rate and ETA; elsewhere (CI logs, pipes), a plain line at a fixed interval and one when a
 * task ends.
 */
export class ProgressDisplay {
  private readonly stream: ProgressStream
  private readonly tty: boolean
  private readonly intervalMs: number
  private readonly redrawMs: number
  private readonly now: () => number
  private current: TaskState | undefined
  private barShown = false

  constructor(options: ProgressDisplayOptions) {
    this.stream = options.stream
    this.tty = options.tty ?? options.stream.isTTY === true
    this.intervalMs = options.intervalMs ?? 10_000
    this.redrawMs = options.redrawMs ?? 100
    this.now = options.now ?? Date.now
  }

  /** A listener to hand to the library functions. */
  get listener(): ProgressListener {
    return (update) => this.update(update)
  }

  update(update: ProgressUpdate): void {
    const at = this.now()
    let state = this.current
    if (!state || state.task !== update.task) {
      if (state) this.finish(state)
      state = {
        task: update.task,
        unit: update.unit,
        started: at,
        done: 0,
        bytes: 0,
        total: undefined,
        samples: [{ at, done: 0, bytes: 0 }],
        // A bar shows at once; plain lines start after one interval (short tasks stay quiet).
        lastPrinted: this.tty ? Number.NEGATIVE_INFINITY : at,
        printed: false,
      }
      this.current = state
    }
    state.done = update.done
    state.bytes = update.bytes ?? state.bytes
    state.total = update.total ?? state.total
    state.samples.push({ at, done: state.done, bytes: state.bytes })
    while (state.samples.length > 2 && at - state.samples[1]!.at > RATE_WINDOW_MS) {
      state.samples.shift()
    }
    if (update.finished) {
      this.finish(state)
      this.current = undefined
      return
    }
    const every = this.tty ? this.redrawMs : this.intervalMs
    if (at - state.lastPrinted < every) return
    state.lastPrinted = at
    state.printed = true
    if (this.tty) this.draw(state)
    else this.stream.write(`${this.describe(state, at)}\n`)
  }

  /** Prints a line of its own (a problem found, a warning), keeping the bar below it. */
  log(line: string): void {
    this.clearBar()
    this.stream.write(`${line}\n`)
    if (this.current && this.tty) this.draw(this.current)
  }

  /** Ends the current task's display, if any (e.g. on an error). */
  close(): void {
    this.clearBar()
    this.current = undefined
  }

  private finish(state: TaskState): void {
    this.clearBar()
    const elapsed = this.now() - state.started
    // A summary line for tasks long enough to have shown progress.
    if (!state.printed && elapsed < 1000) return
    const rate = elapsed > 0 ? (state.done * 1000) / elapsed : 0
    const bytes = state.bytes > 0 ? `, ${formatBytes(state.bytes)}` : ''
    this.stream.write(
      `${state.task}: ${formatCount(state.done)} ${state.unit}${bytes} in ${formatDuration(elapsed)}` +
        ` (${formatCount(rate)} ${state.unit}/s)\n`,
    )
  }

  private rates(state: TaskState, at: number): { items: number; bytes: number } {
    const first = state.samples[0]!
    const seconds = (at - first.at) / 1000
    if (seconds <= 0) return { items: 0, bytes: 0 }
    return {
      items: (state.done - first.done) / seconds,
      bytes: (state.bytes - first.bytes) / seconds,
    }
  }

  private describe(state: TaskState, at: number): string {
    const { items, bytes } = this.rates(state, at)
    const parts: string[] = []
    if (state.total !== undefined && state.total > 0) {
      const percent = Math.min(100, (state.done * 100) / state.total)
      parts.push(
        `${formatCount(state.done)}/${formatCount(state.total)} ${state.unit} (${percent.toFixed(1)}%)`,
      )
    } else {
      parts.push(`${formatCount(state.done)} ${state.unit}`)
    }
    parts.push(`${formatCount(items)} ${state.unit}/s`)
    if (state.bytes > 0) parts.push(`${formatBytes(bytes)}/s`)
    if (state.total !== undefined && state.total > state.done) {
      parts.push(
        `ETA ${items > 0 ? formatDuration(((state.total - state.done) / items) * 1000) : '?'}`,
      )
    }
    return `${state.task}: ${parts.join(', ')}`
  }

  private draw(state: TaskState): void {
    const at = this.now()
    const { items, bytes } = this.rates(state, at)
    const columns = Math.max(40, this.stream.columns ?? 80)
    const counts =
      state.total !== undefined
        ? `${formatCount(state.done)}/${formatCount(state.total)} ${state.unit}`
        : `${formatCount(state.done)} ${state.unit}`
    const rate = `${formatCount(items)}/s${state.bytes > 0 ? ` ${formatBytes(bytes)}/s` : ''}`
    const eta =
      state.total !== undefined && state.total > state.done
        ? ` ETA ${items > 0 ? formatDuration(((state.total - state.done) / items) * 1000) : '?'}`
        : ''
    let line: string
    if (state.total !== undefined && state.total > 0) {
      const fraction = Math.min(1, state.done / state.total)
      const percent = `${(fraction * 100).toFixed(1).padStart(5)}%`
      const tail = ` ${percent} ${counts} ${rate}${eta}`
      const width = Math.max(10, Math.min(40, columns - state.task.length - tail.length - 4))
      const filled = Math.round(fraction * width)
      line = `${state.task} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${tail}`
    } else {
      line = `${state.task} ${counts} ${rate}`
    }
    this.stream.write(`\r\x1b[2K${line.slice(0, columns - 1)}`)
    this.barShown = true
  }

  private clearBar(): void {
    if (!this.barShown) return
    this.stream.write('\r\x1b[2K')
    this.barShown = false
  }
}
