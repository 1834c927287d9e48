import type { AttributeStorage, ListedObject } from '../contract.js'
import type { KeyGenerator } from '../keys.js'

/**
 * What signed URLs and direct uploads rely on the server behind a storage to do:
 * - `http`: serve them at all (a fake client has no HTTP side);
 * - `signatures`: refuse a URL whose path or query was edited;
 * - `expiry`: refuse a URL past its expiry;
 * - `responseHeaders`: answer with the `response-content-disposition` and
 *   `response-content-type` a signed URL asks for;
 * - `uploadPolicy`: refuse a direct upload over its `maxSize` (or against its other
 *   conditions).
 */
export type ServerGuarantee = 'http' | 'signatures' | 'expiry' | 'responseHeaders' | 'uploadPolicy'

/** How to run the conformance suite over one storage implementation. */
export interface ConformanceOptions {
  /**
   * Makes a storage for one test. Calls may share one backend (one bucket, one root): the
   * suite keeps its keys under a fresh random prefix, so it never sees other data.
   */
  create(options: { keyGenerator?: KeyGenerator }): AttributeStorage | Promise<AttributeStorage>
  /** Releases what `create` made, after the whole suite. */
  dispose?(): void | Promise<void>
  /**
   * The streamed large-body case: `bytes` (default 256 MiB) must round-trip while the
   * process grows by less than `maxMemoryGrowth` (default 96 MiB). `{ skip: 'why' }` for
   * storages that keep bodies in memory by design.
   */
  largeBody?: { bytes?: number; maxMemoryGrowth?: number } | { skip: string }
  /** The storage records a SHA-256 per object (`stat().sha256`). Default true. */
  recordsSha256?: boolean
  /**
   * The storage records a media type per object (`stat().contentType`). Default true; a
   * storage without, e.g. the filesystem's, has the media type cases skipped.
   */
  recordsContentType?: boolean
  /** Per-test timeout in ms for the slow cases. Default 180 s. */
  slowTimeout?: number
  /**
   * For storages with `cleanStaleWrites`: leaves behind, in `storage`'s backend, what one
   * interrupted write leaves (an aged temporary file, an abandoned staged write), dated
   * at least an hour back. With it the suite checks that a clean-up finds and removes
   * it, and that a dry run or a long `olderThanMs` keeps it; without it, only that
   * clean-ups never touch committed objects.
   */
  leaveStaleWrite?(storage: AttributeStorage): Promise<void>
  /**
   * The guarantees of signed URLs and direct uploads the server behind the storage does
   * not give, each with the reason (an emulator that checks no signatures: `{ signatures:
   * 'fauxqs checks no signature' }`). The checks that need one are reported skipped, with
   * the reason, instead of failing on what the server, not the storage, lacks. Name only
   * what the server was seen not to do: the storage's own tests should assert it.
   */
  unenforced?: Partial<Record<ServerGuarantee, string>>
}

/** What the parts of the conformance suite share. */
export interface SuiteContext {
  /** The storage's name, as in the suite's title. */
  name: string
  options: ConformanceOptions
  /** The run's private key prefix: every key the suite makes starts with it. */
  run: string
  /** A storage whose keys come from `keyGenerator` (the storage's default without one). */
  make(keyGenerator?: KeyGenerator): Promise<AttributeStorage>
  /** A key generator under the run's private prefix, in `area`. */
  scoped(area: string): KeyGenerator
  /** A number never returned before in this run, for unique keys. */
  nextSequence(): number
  /** The storage records a SHA-256 per object. */
  recordsSha256: boolean
  /** The storage records a media type per object. */
  recordsContentType: boolean
  /** Timeout in ms of the slow cases. */
  slow: number
}

/** A key generator that hands out `keys` in turn. */
export function fixedKeys(keys: string[]): KeyGenerator {
  let index = 0
  return () => keys[index++ % keys.length]!
}

/** Every entry under `prefix`, sorted by key. */
export async function listAll(storage: AttributeStorage, prefix: string): Promise<ListedObject[]> {
  const found: ListedObject[] = []
  for await (const entry of storage.list(prefix)) found.push(entry)
  return found.sort((a, b) => (a.key < b.key ? -1 : 1))
}
