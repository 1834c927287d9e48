import { randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import { compareUtf8 } from './utf8-order.js'

/**
 * One entry of a listing: an object (`[key, size, lastModified ms]`) or, with a delimiter,
 * a common prefix (`[prefix]`). Tuples: a snapshot holds a million of them on disk.
 */
export type ListingEntry = [key: string, size?: number, lastModified?: number | undefined]

/** A page of a snapshot, and where the next one starts. */
export interface SnapshotPage {
  entries: ListingEntry[]
  /** More entries follow; `resume` says where. */
  truncated: boolean
  resume?: { snapshot: string; offset: number }
}

export interface ListingSnapshotsOptions {
  /** Entries sorted in memory at once (one run of the external sort). Default 50,000. */
  runEntries?: number
  /** How long an unused snapshot is kept for the next page. Default 10 minutes. */
  ttlMs?: number
}

const byKey = (a: ListingEntry, b: ListingEntry): number => compareUtf8(a[0], b[0])

/**
 * Sorted listings with flat memory. The storage contract lists in no order, S3 lists in
 * UTF-8 byte order, page by page: a listing of more than one page is read once from the
 * storage and sorted on disk (an external merge sort: runs of `runEntries` sorted in
 * memory, written to temporary files, merged), and the following pages are read from the
 * sorted file at the byte offset the continuation token carries. Memory is bounded by one
 * run whatever the number of objects; the price is a full scan of the prefix before the
 * first page, and disk space for the snapshot (about 80 bytes an object) until it expires.
 * A listing that fits in one page never touches the disk.
 */
export class ListingSnapshots {
  private directory: Promise<string> | undefined
  private readonly snapshots = new Map<string, { file: string; usedAt: number }>()
  private readonly runEntries: number
  private readonly ttlMs: number
  private readonly sweeper: NodeJS.Timeout

  constructor(options: ListingSnapshotsOptions = {}) {
    this.runEntries = options.runEntries ?? 50_000
    this.ttlMs = options.ttlMs ?? 10 * 60_000
    this.sweeper = setInterval(() => void this.sweep(), Math.min(this.ttlMs, 60_000))
    this.sweeper.unref()
  }

  /**
   * Sorts and deduplicates `entries` (common prefixes repeat), and returns the first
   * `limit` of them; a longer listing becomes a snapshot the next pages resume from.
   */
  async first(entries: AsyncIterable<ListingEntry>, limit: number): Promise<SnapshotPage> {
    const runs: string[] = []
    let run: ListingEntry[] = []
    let seen = new Set<string>()
    try {
      for await (const entry of entries) {
        if (seen.has(entry[0])) continue
        seen.add(entry[0])
        run.push(entry)
        if (run.length >= this.runEntries) {
          runs.push(await this.writeRun(run))
          run = []
          seen = new Set()
        }
      }
      run.sort(byKey)
      if (runs.length === 0 && run.length <= limit) return { entries: run, truncated: false }
      const snapshot = randomUUID()
      const file = path.join(await this.workDirectory(), `${snapshot}.jsonl`)
      if (runs.length === 0) await writeLines(file, run)
      else {
        runs.push(await this.writeRun(run))
        await mergeRuns(runs, file)
      }
      this.snapshots.set(snapshot, { file, usedAt: Date.now() })
      return (await this.page(snapshot, 0, limit))!
    } finally {
      await Promise.all(runs.map((file) => rm(file, { force: true })))
    }
  }

  /** The page at `offset` of a snapshot; undefined when it expired (or never existed here). */
  async page(snapshot: string, offset: number, limit: number): Promise<SnapshotPage | undefined> {
    const found = this.snapshots.get(snapshot)
    if (!found) return undefined
    found.usedAt = Date.now()
    const entries: ListingEntry[] = []
    let end = offset
    for await (const line of readLines(found.file, offset)) {
      if (entries.length === limit)
        return { entries, truncated: true, resume: { snapshot, offset: end } }
      entries.push(line.entry)
      end = line.end
    }
    // The last page: the snapshot has served its listing.
    this.snapshots.delete(snapshot)
    await rm(found.file, { force: true })
    return { entries, truncated: false }
  }

  /** Removes every snapshot and the temporary directory. */
  async close(): Promise<void> {
    clearInterval(this.sweeper)
    this.snapshots.clear()
    const directory = await this.directory?.catch(() => undefined)
    if (directory) await rm(directory, { recursive: true, force: true })
  }

  private async sweep(): Promise<void> {
    const stale = Date.now() - this.ttlMs
    for (const [snapshot, { file, usedAt }] of this.snapshots)
      if (usedAt < stale) {
        this.snapshots.delete(snapshot)
        await rm(file, { force: true })
      }
  }

  private workDirectory(): Promise<string> {
    this.directory ??= mkdtemp(path.join(tmpdir(), 'attrstore-s3-gateway-'))
    return this.directory
  }

  private async writeRun(run: ListingEntry[]): Promise<string> {
    run.sort(byKey)
    const file = path.join(await this.workDirectory(), `run-${randomUUID()}.jsonl`)
    await writeLines(file, run)
    return file
  }
}

async function write(out: WriteStream, line: string): Promise<void> {
  if (!out.write(line)) await once(out, 'drain')
}

async function writeLines(file: string, entries: Iterable<ListingEntry>): Promise<void> {
  const out = createWriteStream(file)
  try {
    for (const entry of entries) await write(out, `${JSON.stringify(entry)}\n`)
  } finally {
    out.end()
    await once(out, 'close')
  }
}

/** The lines of a file of JSON lines from a byte offset, each with the offset after it. */
async function* readLines(
  file: string,
  start: number,
): AsyncGenerator<{ entry: ListingEntry; end: number }> {
  // JSON escapes newlines, and 0x0A never occurs inside a UTF-8 sequence: split on bytes.
  const input = createReadStream(file, { start, highWaterMark: 64 * 1024 })
  let pending: Buffer = Buffer.alloc(0)
  let offset = start
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let data = pending.length ? Buffer.concat([pending, chunk]) : chunk
      let newline: number
      while ((newline = data.indexOf(0x0a)) !== -1) {
        offset += newline + 1
        yield { entry: JSON.parse(data.toString('utf8', 0, newline)) as ListingEntry, end: offset }
        data = data.subarray(newline + 1)
      }
      pending = Buffer.from(data)
    }
  } finally {
    input.destroy()
  }
}

/** Merges sorted runs into one sorted file, dropping repeated keys (common prefixes). */
async function mergeRuns(runs: string[], file: string): Promise<void> {
  const heads = runs.map((run) => readLines(run, 0))
  const current = await Promise.all(heads.map(async (lines) => (await lines.next()).value))
  const out = createWriteStream(file)
  let last: string | undefined
  try {
    for (;;) {
      // Few runs (a million entries make 20): a linear scan for the smallest head is enough.
      let smallest = -1
      for (let i = 0; i < current.length; i++)
        if (
          current[i] &&
          (smallest === -1 || byKey(current[i]!.entry, current[smallest]!.entry) < 0)
        )
          smallest = i
      if (smallest === -1) break
      const { entry } = current[smallest]!
      if (entry[0] !== last) await write(out, `${JSON.stringify(entry)}\n`)
      last = entry[0]
      current[smallest] = (await heads[smallest]!.next()).value
    }
  } finally {
    await Promise.all(heads.map((lines) => lines.return(undefined)))
    out.end()
    await once(out, 'close')
  }
}
