/**
 * Large streams of unknown length up and back, attrstore and the raw SDK, each run in a
 * child process of its own: time each way, and how much the transfer grows the RSS over
 * the child's RSS just before it (at two sizes: the growth must not depend on the size).
 */
import { firstJsonLine, spawnTs, type Components } from '../lib/components.js'
import type { CaseResult } from '../lib/result.js'
import { formatSize, summarize } from '../lib/stats.js'

interface StreamRun {
  mode: string
  size: number
  upMs: number
  downMs: number
  intact: boolean
  /** attrstore: the storage recorded the body's SHA-256 (what `verify --checksums` reads). */
  recorded: boolean
  baselineRss: number
  maxRss: number
}

export async function streamRun(
  components: Components,
  mode: 'attrstore' | 'raw' | 'source',
  size: number,
): Promise<StreamRun> {
  const child = spawnTs('stream.ts', [mode, String(size)], components.childEnv)
  const result = await firstJsonLine<StreamRun>(child)
  if (!result.intact) throw new Error(`${mode} stream of ${size} bytes came back different`)
  if (!result.recorded)
    throw new Error(`${mode} stream of ${size} bytes: the storage recorded no (or a wrong) SHA-256`)
  return result
}

export interface StreamFigures {
  rows: CaseResult[]
  /** Per size (bytes): the median RSS growth over the baseline, MiB, attrstore and raw. */
  growth: Map<number, { attrstore: number; raw: number }>
}

const mib = (bytes: number): number => bytes / 1024 / 1024

/** `sizes`: ascending; the time rows are the largest size's. */
export async function streamLarge(
  components: Components,
  sizes: number[],
  reps: number,
): Promise<StreamFigures> {
  const rows: CaseResult[] = []
  const growth = new Map<number, { attrstore: number; raw: number }>()
  for (const size of sizes) {
    const runs: Record<'attrstore' | 'raw' | 'source', StreamRun[]> = {
      attrstore: [],
      raw: [],
      source: [],
    }
    for (let i = 0; i < reps; i++) {
      // Alternated, the order swapped each time.
      const order: Array<'attrstore' | 'raw' | 'source'> =
        i % 2 ? ['raw', 'attrstore', 'source'] : ['attrstore', 'raw', 'source']
      for (const mode of order) runs[mode].push(await streamRun(components, mode, size))
    }
    const grown = (list: StreamRun[]): number[] =>
      list.map((run) => mib(run.maxRss - run.baselineRss))
    const rss = { attrstore: summarize(grown(runs.attrstore)), raw: summarize(grown(runs.raw)) }
    growth.set(size, { attrstore: rss.attrstore.median, raw: rss.raw.median })
    const label = formatSize(size)
    const baseline = summarize(runs.attrstore.map((run) => mib(run.baselineRss))).median
    rows.push({
      id: `stream-rss-${size}`,
      label: `stream ${label} up and back, RSS growth over baseline`,
      unit: 'MiB RSS',
      attrstore: rss.attrstore,
      reference: rss.raw,
      referenceLabel: 'raw SDK: Upload / GetObject streams',
      ratio: rss.attrstore.median / rss.raw.median,
      // The same body generated and consumed in a child that sends nothing: the growth that
      // is the body source's and V8's (dead buffers awaiting collection), not the transfer's.
      breakdown: { 'body source alone, no S3': summarize(grown(runs.source)) },
      note:
        `peak RSS attrstore ${summarize(runs.attrstore.map((run) => mib(run.maxRss))).median.toFixed(0)} MiB, ` +
        `raw ${summarize(runs.raw.map((run) => mib(run.maxRss))).median.toFixed(0)} MiB; baseline (child loaded and ` +
        `connected, before the transfer) ${baseline.toFixed(0)} MiB`,
    })
    if (size !== sizes[sizes.length - 1]) continue
    const up = {
      attrstore: summarize(runs.attrstore.map((run) => run.upMs)),
      raw: summarize(runs.raw.map((run) => run.upMs)),
    }
    const down = {
      attrstore: summarize(runs.attrstore.map((run) => run.downMs)),
      raw: summarize(runs.raw.map((run) => run.downMs)),
    }
    rows.push(
      {
        id: 'stream-up',
        label: `stream ${label} up (save, unknown length)`,
        unit: 'ms',
        attrstore: up.attrstore,
        reference: up.raw,
        referenceLabel: 'lib-storage Upload of the stream',
        ratio: up.attrstore.median / up.raw.median,
      },
      {
        id: 'stream-down',
        label: `stream ${label} back (lazy load + stream)`,
        unit: 'ms',
        attrstore: down.attrstore,
        reference: down.raw,
        referenceLabel: 'raw SDK GetObject stream',
        ratio: down.attrstore.median / down.raw.median,
      },
    )
  }
  return { rows, growth }
}
