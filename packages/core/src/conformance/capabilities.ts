import { expect } from 'vitest'
import { capabilityCheck } from './capability-check.js'
import type { SuiteContext } from './context.js'
import { describeDirectUploads } from './direct-upload.js'
import { describeSignedUrls } from './signed-url.js'
import { describeStaleWrites } from './stale-writes.js'
import { describeWholeReads } from './whole-reads.js'

/** The checks of `cleanStaleWrites`, `signedUrl`, `createDirectUpload` and `readWhole`. */
export function describeCapabilities(context: SuiteContext): void {
  describeStaleWrites(context)
  describeSignedUrls(context)
  describeDirectUploads(context)
  describeWholeReads(context)
}

/** The check of `dispose`: to register last, as it releases what a storage holds. */
export function describeDisposal(context: SuiteContext): void {
  capabilityCheck(context, 'dispose', 'resolves, and again (idempotent)', async (storage) => {
    const { key } = await storage.write('before dispose')
    expect(await storage.exists(key)).toBe(true)
    await expect(storage.dispose()).resolves.toBeUndefined()
    await expect(storage.dispose()).resolves.toBeUndefined()
  })
}
