/** 1 GiB up and back, attrstore and the raw SDK, each in a child process: peak RSS and time. */
import { firstJsonLine, spawnTs, type Components } from '../lib/components.js'
import type { CaseResult } from '../lib/result.js'
import { formatSize, summarize } from '../lib/stats.js'

interface StreamRun {
  mode: string
  size: number
  upMs: number
  downMs: number
  intact: boolean
  baselineRss: number
  maxRss: number
}

export async function streamRun(
  components: Components,
  mode: 'attrstore' | 'raw',
  size: number,
): Promise<StreamRun> {
  const child = spawnTs('stream.ts', [mode, String(size)], components.childEnv)
  const result = await firstJsonLine<StreamRun>(child)
  if (!result.intact) throw new Error(`${mode} stream of ${size} bytes came back different`)
  return result
}

export async function streamLarge(
  components: Components,
  size: number,
  reps: number,
): Promise<{ rows: CaseResult[]; peakRss: number }> {
  const runs: Record<'attrstore' | 'raw', StreamRun[]> = { attrstore: [], raw: [] }
  for (let i = 0; i < reps; i++) {
    runs.attrstore.push(await streamRun(components, 'attrstore', size))
    runs.raw.push(await streamRun(components, 'raw', size))
  }
  const mib = (bytes: number): number => bytes / 1024 / 1024
  const rss = {
    attrstore: summarize(runs.attrstore.map((run) => mib(run.maxRss))),
    raw: summarize(runs.raw.map((run) => mib(run.maxRss))),
  }
  const up = {
    attrstore: summarize(runs.attrstore.map((run) => run.upMs)),
    raw: summarize(runs.raw.map((run) => run.upMs)),
  }
  const down = {
    attrstore: summarize(runs.attrstore.map((run) => run.downMs)),
    raw: summarize(runs.raw.map((run) => run.downMs)),
  }
  const baseline = summarize(runs.attrstore.map((run) => mib(run.baselineRss)))
  const label = formatSize(size)
  return {
    peakRss: Math.max(...runs.attrstore.map((run) => mib(run.maxRss))),
    rows: [
      {
        id: 'stream-rss',
        label: `stream ${label} up and back, peak RSS`,
        unit: 'MiB RSS',
        attrstore: rss.attrstore,
        reference: rss.raw,
        referenceLabel: 'raw SDK: Upload / GetObject streams',
        ratio: rss.attrstore.median / rss.raw.median,
        note:
          `each run in its own child process; RSS before the transfer ${baseline.median.toFixed(0)} MiB ` +
          `(Node + tsx + TypeORM + the SDK loaded), so the transfer itself added ` +
          `${(rss.attrstore.median - baseline.median).toFixed(0)} MiB (raw SDK: ` +
          `${(rss.raw.median - summarize(runs.raw.map((run) => mib(run.baselineRss))).median).toFixed(0)} MiB)`,
      },
      {
        id: 'stream-up',
        label: `stream ${label} up (save)`,
        unit: 'ms',
        attrstore: up.attrstore,
        reference: up.raw,
        referenceLabel: 'raw SDK Upload of the stream',
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
    ],
  }
}
