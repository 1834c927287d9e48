/**
 * Serving one large object over HTTP with @attrstore/http's `sendObject`, from a
 * `BytesFileSystemStorage` and from S3: the peak RSS of the serving process (a child of
 * its own, `serve.ts`) while a client downloads it, over that process's RSS once loaded
 * and listening (its baseline); and, as the reference, the same bytes piped by a bare
 * server in an identical child (`fs.createReadStream`, the raw SDK's `GetObject` body).
 * The "bounded memory" figure of the serving code: it must not grow with the object.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { firstJsonLine, spawnTs, type Components } from '../lib/components.js'
import { s3StorageFor } from '../lib/context.js'
import type { CaseResult } from '../lib/result.js'
import { formatSize, summarize } from '../lib/stats.js'

const MiB = 1024 * 1024

/** `size` bytes, 1 MiB at a time, never all in memory. */
function generated(size: number): Readable {
  const block = Buffer.alloc(MiB, 7)
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < size; sent += MiB)
        yield block.subarray(0, Math.min(MiB, size - sent))
    })(),
  )
}

interface ServeRun {
  growth: number
  peak: number
  baseline: number
}

async function serveOnce(
  components: Components,
  mode: 'attrstore' | 'bare',
  kind: 'fs' | 's3',
  key: string,
  size: number,
  root: string,
): Promise<ServeRun> {
  const child = spawnTs('serve.ts', [mode, kind, key], {
    ...components.childEnv,
    BENCH_SERVE_ROOT: root,
  })
  try {
    const { port, baselineRss } = await firstJsonLine<{ port: number; baselineRss: number }>(child)
    const response = await fetch(`http://127.0.0.1:${port}/object`)
    if (!response.ok) throw new Error(`${mode} ${kind}: ${response.status}`)
    let received = 0
    const hash = createHash('sha256')
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.length
      hash.update(chunk)
    }
    if (received !== size) throw new Error(`${mode} ${kind}: ${received} of ${size} bytes`)
    const { peakRss } = (await (await fetch(`http://127.0.0.1:${port}/peak`)).json()) as {
      peakRss: number
    }
    return {
      growth: (peakRss - baselineRss) / MiB,
      peak: peakRss / MiB,
      baseline: baselineRss / MiB,
    }
  } finally {
    child.kill()
  }
}

export interface ServingFigures {
  rows: CaseResult[]
  /** Per storage kind: the median RSS growth of `sendObject`, MiB. */
  growth: Map<'fs' | 's3', number>
}

export async function servingLarge(
  components: Components,
  size: number,
  reps: number,
): Promise<ServingFigures> {
  const root = await mkdtemp(path.join(tmpdir(), 'attrstore-bench-serve-'))
  const rows: CaseResult[] = []
  const growth = new Map<'fs' | 's3', number>()
  const fs = new BytesFileSystemStorage({ root, fsync: false })
  const s3 = s3StorageFor(components.s3, 'serve')
  try {
    for (const [kind, storage] of [
      ['fs', fs],
      ['s3', s3],
    ] as const) {
      const { key } = await storage.write(generated(size), { size })
      const runs: Record<'attrstore' | 'bare', ServeRun[]> = { attrstore: [], bare: [] }
      try {
        for (let i = 0; i < reps; i++) {
          const order = i % 2 ? (['bare', 'attrstore'] as const) : (['attrstore', 'bare'] as const)
          for (const mode of order)
            runs[mode].push(await serveOnce(components, mode, kind, key, size, root))
        }
      } finally {
        await storage.delete(key)
      }
      const attrstore = summarize(runs.attrstore.map((run) => run.growth))
      const bare = summarize(runs.bare.map((run) => run.growth))
      growth.set(kind, attrstore.median)
      const median = (list: ServeRun[], pick: (run: ServeRun) => number) =>
        summarize(list.map(pick)).median.toFixed(0)
      rows.push({
        id: `serve-rss-${kind}`,
        label: `serve ${formatSize(size)} with sendObject, ${kind === 'fs' ? 'BytesFileSystemStorage' : 'S3'}, RSS growth over baseline`,
        unit: 'MiB RSS',
        attrstore,
        reference: bare,
        referenceLabel:
          kind === 'fs' ? 'bare http + fs.createReadStream' : 'bare http + raw SDK GetObject body',
        ratio: attrstore.median / Math.max(bare.median, 1),
        note:
          `peak RSS sendObject ${median(runs.attrstore, (run) => run.peak)} MiB, bare ${median(runs.bare, (run) => run.peak)} MiB; ` +
          `baseline (child loaded and listening) ${median(runs.attrstore, (run) => run.baseline)} MiB`,
      })
    }
  } finally {
    await s3.dispose()
    await rm(root, { recursive: true, force: true })
  }
  return { rows, growth }
}
