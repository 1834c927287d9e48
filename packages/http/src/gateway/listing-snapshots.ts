import { randomUUID } from 'node:crypto'
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  keyEnd,
  keyStart,
  readRecords,
  RecordCursor,
  recordEnd,
  recordLength,
  RecordWriter,
  writeRecord,
} from './listing-records.js'
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
  /** The bytes of one run's buffer (a run also ends when it is full). Default 4 MiB. */
  runBytes?: number
  /** How long an unused snapshot is kept for the next page. Default 10 minutes. */
  ttlMs?: number
}

const byKey = (a: ListingEntry, b: ListingEntry): number => compareUtf8(a[0], b[0])

/**
 * One run of the external sort: records encoded into one buffer, reused from run to run,
 * and sorted as bytes (UTF-8 byte order is S3's order) through an array of offsets.
 */
class SortRun {
  private buffer: Buffer
  private readonly offsets: Uint32Array
  private used = 0
  count = 0

  constructor(entries: number, bytes: number) {
    this.buffer = Buffer.allocUnsafe(bytes)
    this.offsets = new Uint32Array(entries)
  }

  /** Whether `entry` still fits (an empty run takes any entry, growing for a huge one). */
  fits(entry: ListingEntry): boolean {
    const length = recordLength(entry)
    if (this.count === 0 && length > this.buffer.length) this.buffer = Buffer.allocUnsafe(length)
    return this.count < this.offsets.length && this.used + length <= this.buffer.length
  }

  add(entry: ListingEntry): void {
    this.offsets[this.count++] = this.used
    this.used = writeRecord(this.buffer, this.used, entry)
  }

  /** Writes the run sorted, each key once, and empties it. */
  async writeSorted(out: RecordWriter): Promise<void> {
    const buffer = this.buffer
    const sorted = this.offsets.subarray(0, this.count)
    sorted.sort((a, b) =>
      buffer.compare(buffer, keyStart(b), keyEnd(buffer, b), keyStart(a), keyEnd(buffer, a)),
    )
    let previous = -1
    for (const at of sorted) {
      if (
        previous !== -1 &&
        buffer.compare(
          buffer,
          keyStart(previous),
          keyEnd(buffer, previous),
          keyStart(at),
          keyEnd(buffer, at),
        ) === 0
      )
        continue
      const written = out.copy(buffer, at, recordEnd(buffer, at))
      if (written) await written
      previous = at
    }
    this.count = 0
    this.used = 0
  }
}

/**
 * Sorted listings with flat memory. The storage contract lists in no order, S3 lists in
 * UTF-8 byte order, page by page: a listing of more than one page is read once from the
 * storage and sorted on disk (an external merge sort: runs of `runEntries` sorted in
 * memory, written to temporary files, merged), and the following pages are read from the
 * sorted file at the byte offset the continuation token carries. Memory is bounded by one
 * run's buffer whatever the number of objects (the entries live as bytes there, not as
 * strings and arrays the garbage collector must keep and copy); the price is a full scan
 * of the prefix before the first page, and disk space for the snapshot (about 65 bytes an
 * object) until it expires. A listing that fits in one page never touches the disk.
 */
export class ListingSnapshots {
  private directory: Promise<string> | undefined
  private readonly snapshots = new Map<string, { file: string; usedAt: number }>()
  private readonly runEntries: number
  private readonly runBytes: number
  private readonly ttlMs: number
  private readonly sweeper: NodeJS.Timeout

  constructor(options: ListingSnapshotsOptions = {}) {
    this.runEntries = options.runEntries ?? 50_000
    this.runBytes = options.runBytes ?? 4 * 1024 * 1024
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
    const run = new SortRun(this.runEntries, this.runBytes)
    // Common prefixes repeat (one entry for each object under them): kept once a run.
    let prefixes = new Set<string>()
    // Until the listing outgrows one page, its entries stay as they are.
    let small: ListingEntry[] | undefined = []
    const toRun = async (entry: ListingEntry): Promise<void> => {
      if (!run.fits(entry)) {
        runs.push(await this.writeRun(run))
        prefixes = new Set(entry[1] === undefined ? [entry[0]] : [])
      }
      run.add(entry)
    }
    try {
      for await (const entry of entries) {
        if (entry[1] === undefined) {
          if (prefixes.has(entry[0])) continue
          prefixes.add(entry[0])
        }
        if (!small) await toRun(entry)
        else if (small.push(entry) > limit) {
          for (const kept of small) await toRun(kept)
          small = undefined
        }
      }
      if (small) return { entries: dedupe(small.sort(byKey)), truncated: false }
      const snapshot = randomUUID()
      const file = path.join(await this.workDirectory(), `${snapshot}.records`)
      if (runs.length === 0) await writeFile(file, (out) => run.writeSorted(out))
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
    const file = await open(found.file).catch(() => undefined)
    if (!file) return undefined // swept meanwhile
    const entries: ListingEntry[] = []
    let end = offset
    try {
      for await (const record of readRecords(file, offset)) {
        if (entries.length === limit)
          return { entries, truncated: true, resume: { snapshot, offset: end } }
        entries.push(record.entry)
        end = record.end
      }
    } finally {
      await file.close()
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

  private async writeRun(run: SortRun): Promise<string> {
    const file = path.join(await this.workDirectory(), `run-${randomUUID()}.records`)
    await writeFile(file, (out) => run.writeSorted(out))
    return file
  }
}

/** Sorted entries, each key once. */
function dedupe(sorted: ListingEntry[]): ListingEntry[] {
  return sorted.filter((entry, n) => n === 0 || entry[0] !== sorted[n - 1]![0])
}

async function writeFile(file: string, fill: (out: RecordWriter) => Promise<void>): Promise<void> {
  const handle = await open(file, 'w')
  try {
    const out = new RecordWriter(handle)
    await fill(out)
    await out.flush()
  } finally {
    await handle.close()
  }
}

/** Merges sorted runs into one sorted file, dropping repeated keys (common prefixes). */
async function mergeRuns(runs: string[], file: string): Promise<void> {
  const handles: FileHandle[] = []
  try {
    for (const run of runs) handles.push(await open(run))
    const cursors: (RecordCursor | undefined)[] = handles.map((handle) => new RecordCursor(handle))
    for (let i = 0; i < cursors.length; i++) if (!(await cursors[i]!.fill())) cursors[i] = undefined
    // The key written last, to drop its repeats.
    let last = Buffer.alloc(0)
    let lastLength = -1
    await writeFile(file, async (out) => {
      for (;;) {
        // Few runs (a million entries make 20): a linear scan for the smallest head is enough.
        let smallest: RecordCursor | undefined
        let index = -1
        for (let i = 0; i < cursors.length; i++) {
          const cursor = cursors[i]
          if (cursor && (!smallest || compareKeys(cursor, smallest) < 0)) {
            smallest = cursor
            index = i
          }
        }
        if (!smallest) break
        const { buffer, at } = smallest
        const start = keyStart(at)
        const end = keyEnd(buffer, at)
        if (lastLength === -1 || buffer.compare(last, 0, lastLength, start, end) !== 0) {
          const written = out.copy(buffer, at, smallest.end)
          if (written) await written
          if (last.length < end - start) last = Buffer.allocUnsafe(Math.max(end - start, 1024))
          lastLength = buffer.copy(last, 0, start, end)
        }
        const more = smallest.next()
        if (!(more === true || (more !== false && (await more)))) cursors[index] = undefined
      }
    })
  } finally {
    await Promise.all(handles.map((handle) => handle.close()))
  }
}

/** The order of two cursors' current keys, as bytes. */
function compareKeys(a: RecordCursor, b: RecordCursor): number {
  return a.buffer.compare(
    b.buffer,
    keyStart(b.at),
    keyEnd(b.buffer, b.at),
    keyStart(a.at),
    keyEnd(a.buffer, a.at),
  )
}
