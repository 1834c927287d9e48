import { randomUUID } from 'node:crypto'
import type { AttributeStorage } from '@attrstore/core'
import type { ClaimLock, ObjectLocks } from './ports.js'

/**
 * The in-process part of the object locks (the why, and the database-wide part, are in the
 * adapter's `object-locks.ts`): imports take an object's lock shared, held until their work
 * ends; clean-ups take it exclusive around "re-check the rows, delete". It does not reach
 * other processes. Usable as is by an adapter whose database has no such locks.
 */
export class InProcessObjectLocks<Connection> implements ObjectLocks<Connection> {
  forImport(storage: AttributeStorage, reference: string): Promise<() => void> {
    return localObjectLock(objectIdentity(storage, reference), false)
  }

  async forDeletion<T>(
    storage: AttributeStorage,
    reference: string,
    connection: Connection | undefined,
    task: (connection: Connection | undefined) => Promise<T>,
  ): Promise<T> {
    const release = await localObjectLock(objectIdentity(storage, reference), true)
    try {
      return await task(connection)
    } finally {
      release()
    }
  }

  async forClaim(storage: AttributeStorage, reference: string): Promise<ClaimLock> {
    const release = tryLocalObjectLock(objectIdentity(storage, reference))
    return release ? { acquired: true, release } : { acquired: false }
  }

  /** See {@link ObjectLocks.forDeletions}: the in-process locks of those of `references` that are free. */
  async forDeletions<T>(
    storage: AttributeStorage,
    references: readonly string[],
    connection: Connection | undefined,
    task: (locked: string[], connection: Connection | undefined) => Promise<T>,
  ): Promise<T> {
    const held = tryObjectLocks(storage, references)
    try {
      return await task(held.locked, connection)
    } finally {
      held.release()
    }
  }
}

/**
 * Takes, without waiting, the exclusive in-process locks of the objects of `references`
 * that are free now (one per object: two references of one object share it). Returns the
 * references whose object it locked, by object identity, and the release of all those locks.
 */
export function tryObjectLocks(
  storage: AttributeStorage,
  references: readonly string[],
): { locked: string[]; identities: Map<string, string[]>; release(): void } {
  const byIdentity = Map.groupBy(references, (reference) => objectIdentity(storage, reference))
  const releases: Array<() => void> = []
  const identities = new Map<string, string[]>()
  for (const [identity, list] of byIdentity) {
    const release = localLocks.tryAcquire(identity, true)
    if (!release) continue
    releases.push(release)
    identities.set(identity, list)
  }
  return {
    locked: [...identities.values()].flat(),
    identities,
    release: () => {
      for (const release of releases) release()
    },
  }
}

const storageIds = new WeakMap<AttributeStorage, string>()

/** What a lock is about: the storage's place (its location, else the instance) and the object's key. */
export function objectIdentity(storage: AttributeStorage, reference: string): string {
  let place: string | undefined = storage.location // undefined from plain-JS storages
  if (place === undefined) {
    place = storageIds.get(storage)
    if (!place) storageIds.set(storage, (place = `instance:${randomUUID()}`))
  }
  return `${place}\u0000${objectKeyOf(storage, reference)}`
}

/** The key of the object a reference addresses (the storage's `objectKey`, else itself). */
export function objectKeyOf(storage: AttributeStorage, reference: string): string {
  if (!storage.objectKey) return reference
  try {
    return storage.objectKey(reference)
  } catch {
    return reference // not a reference of this storage: it addresses nothing else
  }
}

interface LockState {
  shared: number
  exclusive: boolean
  waiting: Array<{ exclusive: boolean; grant(): void }>
}

/**
 * Shared/exclusive locks by name, in this process. Shared requests wait only for a held
 * exclusive one (never for queued ones: an import holding other shared locks must not
 * wait behind a clean-up that waits for it).
 *
 * Not core's `Limiter(1)` per name: a limiter is mutual exclusion in arrival order, with
 * the hold scoped to one callback. Here many imports hold one object's lock at once, a
 * shared request must overtake queued exclusive ones (in a limiter's queue, a second import
 * of an object by the work already holding it would wait behind a clean-up that waits for
 * that work to end: a deadlock), and an import's hold outlives the call that took it (it
 * ends at commit).
 */
class LocalLocks {
  private readonly held = new Map<string, LockState>()

  acquire(name: string, exclusive: boolean): Promise<() => void> {
    const now = this.tryAcquire(name, exclusive)
    if (now) return Promise.resolve(now)
    const state = this.held.get(name)!
    return new Promise((resolve) => {
      state.waiting.push({
        exclusive,
        grant: () => {
          if (exclusive) state.exclusive = true
          else state.shared++
          resolve(this.releaseOf(name, state, exclusive))
        },
      })
    })
  }

  /**
   * The lock if it can be granted now, else undefined. A shared request waits only for a
   * held exclusive lock; an exclusive one for any holder.
   */
  tryAcquire(name: string, exclusive: boolean): (() => void) | undefined {
    let state = this.held.get(name)
    if (!state) this.held.set(name, (state = { shared: 0, exclusive: false, waiting: [] }))
    if (!(exclusive ? !state.exclusive && state.shared === 0 : !state.exclusive)) return undefined
    if (exclusive) state.exclusive = true
    else state.shared++
    return this.releaseOf(name, state, exclusive)
  }

  private releaseOf(name: string, state: LockState, exclusive: boolean): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      if (exclusive) state.exclusive = false
      else state.shared--
      this.wake(name)
    }
  }

  waiting(): number {
    let count = 0
    for (const state of this.held.values()) count += state.waiting.length
    return count
  }

  private wake(name: string): void {
    const state = this.held.get(name)!
    while (!state.exclusive && state.waiting.length) {
      const shared = state.waiting.findIndex((waiter) => !waiter.exclusive)
      if (shared !== -1) {
        state.waiting.splice(shared, 1)[0]!.grant()
        continue
      }
      if (state.shared > 0) break
      state.waiting.shift()!.grant()
    }
    if (!state.exclusive && state.shared === 0 && !state.waiting.length) this.held.delete(name)
  }
}

const localLocks = new LocalLocks()

/**
 * Takes the in-process lock of an object identity ({@link objectIdentity}), shared or
 * exclusive; resolves with its release (idempotent).
 */
export function localObjectLock(identity: string, exclusive: boolean): Promise<() => void> {
  return localLocks.acquire(identity, exclusive)
}

/**
 * Takes the exclusive in-process lock of an object identity if it is free now: its
 * release, or undefined when the lock is held.
 */
export function tryLocalObjectLock(identity: string): (() => void) | undefined {
  return localLocks.tryAcquire(identity, true)
}

/** How many in-process lock requests are waiting now: a diagnostic for tests of orderings. */
export function waitingObjectLocks(): number {
  return localLocks.waiting()
}
