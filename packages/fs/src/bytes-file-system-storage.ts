import { randomUUID } from 'node:crypto'
import { link, open, readFile, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import {
  ConfigurationError,
  InvalidKeyError,
  KeyConflictError,
  ObjectNotFoundError,
  StorageUnavailableError,
  type ByteRange,
  type ListedObject,
  type ObjectStat,
  type OpenedObject,
  type ReadOptions,
  type StaleWritesOptions,
  type StaleWritesReport,
  type WholeObject,
} from '@attrstore/core'
import {
  BaseStorage,
  resolveRange,
  type BaseStorageOptions,
  type NewObject,
} from '@attrstore/core/driver'
import { ChecksumRecords } from './checksum-records.js'
import { Directories, type DirectorySync } from './directories.js'
import { readAll, writeAll } from './durable-files.js'
import { shardedKeyGenerator } from './keys.js'
import { Layout } from './layout.js'
import { walkObjects } from './listing.js'
import { cleanTemporaryFiles } from './stale-writes.js'

export interface BytesFileSystemStorageOptions extends BaseStorageOptions {
  /** Directory that holds every object. Created on first write. */
  root: string
  /** Mode of stored files. Default `0o444`: read-only, as the original's `wmode`. */
  fileMode?: number
  /** fsync each file and its directory before a write resolves. Default true. */
  fsync?: boolean
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR'])

/** Largest chunk a whole-object stream reads at once; objects up to it are read in one call. */
const WHOLE_READ_CHUNK = 1024 * 1024

/**
 * A valid key the file system cannot hold (a segment over its NAME_MAX): invalid for this
 * storage, not a storage that is down (which a route answers 503, and monitoring pages for).
 */
function nameTooLong(key: string): InvalidKeyError {
  return new InvalidKeyError(key, 'a path segment is longer than the file system allows')
}

/**
 * Keeps each object in its own file under `root`: the port of CubicWeb's
 * `BytesFileSystemStorage`, made safe:
 *
 * - atomic where a name is known: a stream, or a body under a key the caller chose, is
 *   written to a temporary file, fsynced, then hard-linked into place, so a crash never
 *   leaves a partial file under such a name; bytes under a random key are written in
 *   place (nobody knows the name until the write returns; see the README for what a
 *   listing sees meanwhile);
 * - write-once: linking (or the exclusive create) fails if the name exists, so nothing is
 *   ever overwritten;
 * - keys cannot leave `root`, whatever the key generator returns;
 * - sharded `ab/cd/<uuid>.ext` keys by default, keeping the file name's extension;
 * - the SHA-256 of each object is recorded under `root/.attrstore/sha256/`.
 *
 * Interrupted writes leave `root/.attrstore/tmp/*.tmp` files; `cleanStaleWrites` removes
 * them (the garbage collector calls it).
 */
export class BytesFileSystemStorage extends BaseStorage {
  readonly root: string
  override readonly location: string
  private readonly layout: Layout
  private readonly fileMode: number
  private readonly fsync: boolean
  private readonly directories: Directories
  private readonly records: ChecksumRecords

  constructor(options: BytesFileSystemStorageOptions) {
    if (typeof options?.root !== 'string' || options.root.trim() === '') {
      throw new ConfigurationError(
        'BytesFileSystemStorage needs a `root` directory, e.g. { root: "/var/lib/app/files" }',
      )
    }
    if (
      options.fileMode !== undefined &&
      !(Number.isInteger(options.fileMode) && options.fileMode >= 0 && options.fileMode <= 0o777)
    ) {
      throw new ConfigurationError(
        `fileMode must be a permission mode such as 0o444, got ${String(options.fileMode)}`,
      )
    }
    super(options.keyGenerator ? { keyGenerator: options.keyGenerator } : {}, shardedKeyGenerator)
    this.layout = new Layout(options.root)
    this.root = this.layout.root
    this.location = pathToFileURL(this.root).href
    this.fileMode = options.fileMode ?? 0o444
    this.fsync = options.fsync ?? true
    this.directories = new Directories(this.root, this.fsync)
    this.records = new ChecksumRecords(this.layout, this.directories)
  }

  /** The absolute path of a key's file (the port of CubicWeb's `FSPATH()`). */
  pathOf(key: string): string {
    return this.layout.objectPath(this.assertReference(key))
  }

  protected override assertReference(key: string): string {
    super.assertReference(key)
    this.layout.objectPath(key)
    return key
  }

  protected async putObject(object: NewObject): Promise<void> {
    const finalPath = this.layout.objectPath(object.key)
    if (object.bytes && object.keyIsRandom)
      return this.writeInPlace(object, object.bytes, finalPath)
    return this.writeThroughTemporary(object, finalPath)
  }

  /**
   * A body in bytes under a random key: no row can reference the key before this write
   * returns (nobody knows it, and the row naming it commits afterwards), so the bytes go
   * straight under their final name, created exclusively, without a temporary file and a
   * link. A crash mid-write leaves at worst a partial file no row references, which the
   * garbage collector removes as any unreferenced object; a failure removes it here.
   */
  private async writeInPlace(object: NewObject, bytes: Buffer, finalPath: string): Promise<void> {
    const { handle, syncEntry } = await this.createExclusive(finalPath, object.key)
    try {
      await writeAll(handle, bytes)
      // The bytes and their name are made durable at once: no name can point at partial
      // bytes a row references, so neither fsync waits for the other; the record needs
      // neither. The mode was given at creation; the chmod only undoes what a umask took.
      await Promise.all([
        handle.chmod(this.fileMode),
        this.fsync ? handle.sync() : undefined,
        this.fsync ? syncEntry() : undefined,
        this.records.write(object.key, object.digest().sha256),
      ])
      await handle.close()
    } catch (error) {
      await handle.close().catch(() => {})
      await this.deleteObject(object.key).catch(() => {})
      throw error
    }
  }

  /**
   * Opens a new file under its final name, exclusively, creating its directories when they
   * are missing (tried only when the open says so: they exist in a storage in use); with
   * what makes its name durable.
   */
  private async createExclusive(
    finalPath: string,
    key: string,
  ): Promise<{ handle: FileHandle; syncEntry: DirectorySync }> {
    const directory = path.dirname(finalPath)
    try {
      const handle = await open(finalPath, 'wx', this.fileMode)
      return { handle, syncEntry: this.directories.entrySync(directory) }
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw this.creationError(error, key)
    }
    // The record's directory is missing too, most likely: made at the same time, so that the
    // record is not held up later (a failure here is the record's to report).
    const [syncEntry] = await Promise.all([
      this.ensureDirectory(directory, key),
      this.records.makeDirectoryOf(key).catch(() => {}),
    ])
    try {
      return { handle: await open(finalPath, 'wx', this.fileMode), syncEntry }
    } catch (error) {
      throw this.creationError(error, key)
    }
  }

  /** What a failed exclusive create means for the key. */
  private creationError(error: unknown, key: string): Error {
    const code = errorCode(error)
    // The name exists, or a file stands where a directory of this key should be.
    if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
      return new KeyConflictError(key)
    }
    if (code === 'ENAMETOOLONG') return nameTooLong(key)
    return this.unavailable(error, `cannot create ${JSON.stringify(key)}`)
  }

  /** A body streamed, or under a chosen key: written aside, fsynced, then linked into place. */
  private async writeThroughTemporary(object: NewObject, finalPath: string): Promise<void> {
    const temporaryPath = path.join(this.layout.temporaryDirectory, `${randomUUID()}.tmp`)
    await this.ensureDirectory(this.layout.temporaryDirectory)
    // Fail fast, before reading the body; the link below is what really guarantees it.
    if (!object.keyIsRandom && (await fileExists(finalPath))) throw new KeyConflictError(object.key)

    let handle: FileHandle | undefined
    let syncEntry: DirectorySync
    try {
      handle = await open(temporaryPath, 'wx', 0o600)
      if (object.bytes) await writeAll(handle, object.bytes)
      else for await (const chunk of object.stream!) await handle.write(chunk as Buffer)
      if (this.fsync) await handle.sync()
      await handle.chmod(this.fileMode)
      await handle.close()
      handle = undefined
      syncEntry = await this.ensureDirectory(path.dirname(finalPath), object.key)
      await this.linkIntoPlace(temporaryPath, finalPath, object.key)
    } catch (error) {
      await handle?.close().catch(() => {})
      await rm(temporaryPath, { force: true }).catch(() => {})
      throw error
    }
    // All once the object is linked in place; none waits for another.
    await Promise.all([
      unlink(temporaryPath).catch(() => {}),
      this.records.write(object.key, object.digest().sha256),
      this.fsync ? syncEntry() : undefined,
    ])
  }

  /** Atomic and exclusive: link() fails if the name exists, and never exposes a partial file. */
  private async linkIntoPlace(
    temporaryPath: string,
    finalPath: string,
    key: string,
  ): Promise<void> {
    try {
      await link(temporaryPath, finalPath)
    } catch (error) {
      const code = errorCode(error)
      if (code === 'EEXIST') throw new KeyConflictError(key)
      if (code === 'ENAMETOOLONG') throw nameTooLong(key)
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP')
        throw error
      // File systems without hard links: claim the name exclusively, then rename over it.
      // A crash in between leaves an empty file, never a partial one.
      const claim = await open(finalPath, 'wx').catch((claimError: unknown) => {
        throw errorCode(claimError) === 'EEXIST' ? new KeyConflictError(key) : claimError
      })
      await claim.close()
      await rename(temporaryPath, finalPath)
    }
  }

  /**
   * Creates `directory` and its missing parents; what makes a new entry in it durable. No
   * `key`: a directory of the storage's own files, which need no fsync.
   */
  private async ensureDirectory(directory: string, key?: string): Promise<DirectorySync> {
    try {
      return await this.directories.ensure(directory, key !== undefined)
    } catch (error) {
      const code = errorCode(error)
      // A file stands where a directory of this key should be: the key collides with it.
      if (key !== undefined && (code === 'EEXIST' || code === 'ENOTDIR'))
        throw new KeyConflictError(key)
      if (key !== undefined && code === 'ENAMETOOLONG') throw nameTooLong(key)
      throw this.unavailable(error, `cannot create directory ${directory}`)
    }
  }

  protected async getObject(
    key: string,
    range: ByteRange | undefined,
    _signal?: AbortSignal,
    withSha256 = false,
  ): Promise<OpenedObject> {
    const { handle, size, sha256 } = await this.openFile(key, withSha256 && !range)
    const hash = sha256 ? { sha256 } : {}
    try {
      if (!range && size <= WHOLE_READ_CHUNK) {
        // Small enough to be one chunk: read in one call into a buffer of its size (a read
        // stream would read once more to see the end, into a second buffer).
        const bytes = await readAll(handle, size)
        await handle.close()
        return { stream: Readable.from([bytes], { objectMode: false }), ...hash }
      }
      if (!range) {
        // Larger objects in chunks of WHOLE_READ_CHUNK: an eager load of 8 MiB is 8 reads
        // and 8 chunks to collect, not 128 of the default 64 KiB.
        return { stream: handle.createReadStream({ highWaterMark: WHOLE_READ_CHUNK }), ...hash }
      }
      const { start, end } = resolveRange(key, range, size)
      return { stream: handle.createReadStream({ start, end }) }
    } catch (error) {
      await handle.close().catch(() => {})
      throw error
    }
  }

  /**
   * The whole object in one Buffer of its size and its recorded SHA-256: an open and an
   * fstat while the record is read, one read, a close; no stream, no chunks to copy.
   */
  async readWhole(key: string): Promise<WholeObject> {
    const { handle, size, sha256 } = await this.openFile(this.assertReference(key), true)
    try {
      const bytes = await readAll(handle, size)
      return sha256 ? { bytes, sha256 } : { bytes }
    } catch (error) {
      throw this.translate(error, key)
    } finally {
      await handle.close().catch(() => {})
    }
  }

  /** Opens a key's file and fstats it; reads its hash record alongside when asked. */
  private async openFile(
    key: string,
    withSha256: boolean,
  ): Promise<{ handle: FileHandle; size: number; sha256: string | undefined }> {
    const recorded = withSha256 ? this.records.read(key) : undefined
    let handle: FileHandle
    try {
      handle = await open(this.layout.objectPath(key), 'r')
    } catch (error) {
      throw this.translate(error, key)
    }
    try {
      const [info, sha256] = await Promise.all([handle.stat(), recorded])
      if (!info.isFile()) throw new ObjectNotFoundError(key)
      return { handle, size: info.size, sha256 }
    } catch (error) {
      await handle.close().catch(() => {})
      throw this.translate(error, key)
    }
  }

  /** Whole reads in one call: no stream, no chunk list. */
  override async read(key: string, options: ReadOptions = {}): Promise<Buffer> {
    if (options.range || options.verify) return super.read(key, options)
    const file = this.layout.objectPath(this.assertReference(key))
    try {
      return await readFile(file, options.signal ? { signal: options.signal } : {})
    } catch (error) {
      throw this.translate(error, key)
    }
  }

  /** One `stat`: whether the file is there needs no hash record (`attrstore verify` asks per key). */
  override async exists(key: string): Promise<boolean> {
    const file = this.layout.objectPath(this.assertReference(key))
    try {
      return (await stat(file)).isFile()
    } catch (error) {
      const translated = this.translate(error, key)
      if (translated instanceof ObjectNotFoundError) return false
      throw translated
    }
  }

  protected async statObject(key: string): Promise<ObjectStat> {
    const file = this.layout.objectPath(key)
    try {
      const info = await stat(file)
      if (!info.isFile()) throw new ObjectNotFoundError(key)
      const sha256 = await this.records.read(key)
      return { key, size: info.size, lastModified: info.mtime, ...(sha256 ? { sha256 } : {}) }
    } catch (error) {
      throw this.translate(error, key)
    }
  }

  protected async deleteObject(key: string): Promise<void> {
    for (const file of [this.layout.objectPath(key), this.layout.checksumPath(key)]) {
      try {
        await unlink(file)
      } catch (error) {
        if (!MISSING.has(errorCode(error) ?? '')) throw this.translate(error, key)
      }
    }
  }

  protected async *listObjects(prefix: string): AsyncIterable<ListedObject> {
    // Start at the deepest directory the prefix names, not at the root.
    const slash = prefix.lastIndexOf('/')
    const start = slash === -1 ? this.root : this.layout.objectPath(prefix.slice(0, slash))
    yield* walkObjects(this.layout, start, prefix, (error, directory) =>
      this.unavailable(error, `cannot list ${directory}`),
    )
  }

  /**
   * Removes the temporary files (`root/.attrstore/tmp/*.tmp`) of writes that never
   * finished (a crash, a kill) and that are older than `olderThanMs`; younger ones may be
   * writes in flight. The garbage collector calls it.
   */
  cleanStaleWrites(options: StaleWritesOptions): Promise<StaleWritesReport> {
    return cleanTemporaryFiles(this.layout.temporaryDirectory, options)
  }

  private translate(error: unknown, key: string): Error {
    if (error instanceof ObjectNotFoundError) return error
    if (MISSING.has(errorCode(error) ?? ''))
      return new ObjectNotFoundError(key, undefined, { cause: error })
    if (errorCode(error) === 'ENAMETOOLONG') return nameTooLong(key)
    return this.unavailable(error, `cannot access ${JSON.stringify(key)}`)
  }

  private unavailable(error: unknown, what: string): Error {
    if (!(error instanceof Error) || !('code' in error)) return error as Error
    return new StorageUnavailableError(
      `BytesFileSystemStorage at ${this.root}: ${what}: ${error.message}`,
      { cause: error },
    )
  }
}

async function fileExists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  )
}
