import type { Readable } from 'node:stream'
import type {
  AttributeStorage,
  Body,
  ListedObject,
  ObjectStat,
  OpenedObject,
  ReadOptions,
  VerifyResult,
  WriteOptions,
  WriteResult,
} from '@attrstore/core'
import { StorageUnavailableError } from '@attrstore/core'

/** The operations of the storage contract, as counted and faulted by {@link InstrumentedStorage}. */
export type StorageOperation = 'write' | 'read' | 'stat' | 'delete' | 'list' | 'verify'

/** A fault to inject: fail the `nth` call (1-based, counted from now) of `operation`, or every call from it on. */
export interface InjectedFault {
  operation: StorageOperation
  nth?: number
  /** Keep failing after the nth call. Default false: only that call fails. */
  persistent?: boolean
  /** What to throw. Default: a StorageUnavailableError. */
  error?: () => Error
}

/**
 * Wraps a real storage, counts the calls of each operation and fails chosen calls: to
 * prove what code does when a storage is down, without mocking the storage itself.
 *
 * ```ts
 * const storage = new InstrumentedStorage(new MemoryStorage())
 * storage.failOn({ operation: 'write' })   // the next write fails
 * expect(storage.calls.read).toBe(0)       // nothing was downloaded
 * ```
 */
export class InstrumentedStorage implements AttributeStorage {
  readonly calls: Record<StorageOperation, number> = {
    write: 0,
    read: 0,
    stat: 0,
    delete: 0,
    list: 0,
    verify: 0,
  }
  private faults: Array<InjectedFault & { at: number }> = []

  // The optional capabilities exist on the wrapper only where the wrapped storage has them:
  // `declare` keeps absent ones absent (no own property set to undefined). `readWhole` is
  // not passed on: loads then go through `open`, where they are counted and faults land.
  declare readonly cleanStaleWrites?: NonNullable<AttributeStorage['cleanStaleWrites']>
  declare readonly dispose?: NonNullable<AttributeStorage['dispose']>
  declare readonly signedUrl?: NonNullable<AttributeStorage['signedUrl']>
  declare readonly createDirectUpload?: NonNullable<AttributeStorage['createDirectUpload']>

  constructor(readonly inner: AttributeStorage) {
    const forwarded: Partial<AttributeStorage> = {}
    if (inner.cleanStaleWrites) forwarded.cleanStaleWrites = inner.cleanStaleWrites.bind(inner)
    if (inner.dispose) forwarded.dispose = inner.dispose.bind(inner)
    if (inner.signedUrl) forwarded.signedUrl = inner.signedUrl.bind(inner)
    if (inner.createDirectUpload)
      forwarded.createDirectUpload = inner.createDirectUpload.bind(inner)
    Object.assign(this, forwarded)
  }

  get location(): string {
    return this.inner.location
  }

  get autoDelete(): boolean | undefined {
    return this.inner.autoDelete
  }

  /** The wrapped storage's declaration (see `AttributeStorage.versionedReferences`). */
  get versionedReferences(): boolean | undefined {
    return this.inner.versionedReferences
  }

  /** The wrapped storage's `objectKey`, if it has one (else the reference itself). */
  objectKey(reference: string): string {
    return this.inner.objectKey ? this.inner.objectKey(reference) : reference
  }

  /** Schedules a fault (see {@link InjectedFault}). */
  failOn(fault: InjectedFault): this {
    this.faults.push({ ...fault, at: this.calls[fault.operation] + (fault.nth ?? 1) })
    return this
  }

  /** Removes every scheduled fault. */
  heal(): this {
    this.faults = []
    return this
  }

  /** Sets every counter back to zero and removes the scheduled faults. */
  resetCounts(): this {
    for (const operation of Object.keys(this.calls) as StorageOperation[]) this.calls[operation] = 0
    this.faults = []
    return this
  }

  /** Counts a call of `operation`, throws the fault scheduled for it if any, else makes `call`. */
  private enter<T>(operation: StorageOperation, call: () => T): T {
    const count = ++this.calls[operation]
    const fault = this.faults.find(
      (candidate) =>
        candidate.operation === operation &&
        (candidate.persistent ? count >= candidate.at : count === candidate.at),
    )
    if (fault)
      throw fault.error
        ? fault.error()
        : new StorageUnavailableError(`injected fault: ${operation} #${count} fails`)
    return call()
  }

  async write(body: Body, options?: WriteOptions): Promise<WriteResult> {
    return this.enter('write', () => this.inner.write(body, options))
  }

  async read(key: string, options?: ReadOptions): Promise<Buffer> {
    return this.enter('read', () => this.inner.read(key, options))
  }

  async readStream(key: string, options?: ReadOptions): Promise<Readable> {
    return this.enter('read', () => this.inner.readStream(key, options))
  }

  async open(key: string, options?: ReadOptions): Promise<OpenedObject> {
    return this.enter('read', () => this.inner.open(key, options))
  }

  async stat(key: string): Promise<ObjectStat> {
    return this.enter('stat', () => this.inner.stat(key))
  }

  async exists(key: string): Promise<boolean> {
    return this.enter('stat', () => this.inner.exists(key))
  }

  async delete(key: string): Promise<void> {
    return this.enter('delete', () => this.inner.delete(key))
  }

  async deleteMany(keys: Iterable<string>): Promise<void> {
    return this.enter('delete', () => this.inner.deleteMany(keys))
  }

  list(prefix?: string): AsyncIterable<ListedObject> {
    return this.enter('list', () => this.inner.list(prefix))
  }

  async verify(key: string): Promise<VerifyResult> {
    return this.enter('verify', () => this.inner.verify(key))
  }
}
