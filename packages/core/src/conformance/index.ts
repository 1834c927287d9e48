/**
 * The storage conformance suite: every rule of the `AttributeStorage` contract as vitest
 * tests, for any implementation, ours or yours, in one call:
 *
 * ```ts
 * import { describeStorageConformance } from '@attrstore/core/conformance'
 * describeStorageConformance('MyStorage', { create: ({ keyGenerator }) => new MyStorage({ keyGenerator }) })
 * ```
 *
 * The optional capabilities (`cleanStaleWrites`, `signedUrl`, `createDirectUpload`,
 * `dispose`) are checked where the storage has them, and reported as skipped otherwise.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, describe } from 'vitest'
import type { AttributeStorage } from '../contract.js'
import type { KeyGenerator } from '../keys.js'
import { describeBodies, describeStreaming } from './bodies.js'
import { describeCapabilities, describeDisposal } from './capabilities.js'
import type { ConformanceOptions, SuiteContext } from './context.js'
import { describeFailedWritesAndChecks } from './failed-writes.js'
import { describeKeyRules } from './key-rules.js'
import { describeMediaTypes } from './media-types.js'
import { describeObjects } from './objects.js'
import { describeByteRanges } from './ranges.js'
import { describeReadOptions } from './read-options.js'
import { describeWebBodies } from './web-bodies.js'

export type { ConformanceOptions, ServerGuarantee } from './context.js'
export { directUploadRequest } from './direct-upload-request.js'
export { digestOf, failingBody, generateBody, measureMemoryGrowth, MiB } from './fixtures.js'

/** Registers the conformance tests of one storage implementation in the current vitest file. */
export function describeStorageConformance(name: string, options: ConformanceOptions): void {
  const run = `conformance-${randomUUID()}`
  let sequence = 0
  const nextSequence = (): number => ++sequence
  /** A key generator under this run's private prefix. */
  const scoped =
    (area: string): KeyGenerator =>
    () =>
      `${run}/${area}/${String(nextSequence()).padStart(6, '0')}`
  const make = (keyGenerator?: KeyGenerator): Promise<AttributeStorage> =>
    Promise.resolve(options.create(keyGenerator ? { keyGenerator } : {}))
  const context: SuiteContext = {
    name,
    options,
    run,
    make,
    scoped,
    nextSequence,
    recordsSha256: options.recordsSha256 ?? true,
    recordsContentType: options.recordsContentType ?? true,
    slow: options.slowTimeout ?? 180_000,
  }

  describe(`${name} conforms to the AttributeStorage contract`, () => {
    afterAll(async () => {
      await options.dispose?.()
    })

    describeBodies(context)
    describeWebBodies(context)
    describeKeyRules(context)
    describeStreaming(context)
    describeByteRanges(context)
    describeReadOptions(context)
    describeObjects(context)
    describeMediaTypes(context)
    describeFailedWritesAndChecks(context)
    describeCapabilities(context)
    // Last: it releases what a storage holds.
    describeDisposal(context)
  })
}
