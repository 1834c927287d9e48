import { it } from 'vitest'
import type { AttributeStorage } from '../contract.js'
import type { ServerGuarantee, SuiteContext } from './context.js'

/** The optional capabilities of the contract. */
export type Capability = 'cleanStaleWrites' | 'dispose' | 'signedUrl' | 'createDirectUpload'

/** A storage known to have `capability`. */
export type StorageWith<C extends Capability> = AttributeStorage &
  Required<Pick<AttributeStorage, C>>

/**
 * Registers a check of an optional capability: it runs on a fresh storage that has the
 * capability, and is reported as skipped, with the reason, on one that has not, or
 * whose server does not give one of the guarantees in `needs`
 * (`ConformanceOptions.unenforced`).
 */
export function capabilityCheck<C extends Capability>(
  { name, make, scoped, options }: SuiteContext,
  capability: C,
  title: string,
  check: (storage: StorageWith<C>) => Promise<void>,
  timeout?: number,
  needs: readonly ServerGuarantee[] = [],
): void {
  it(
    `${capability}: ${title}`,
    async (test) => {
      const storage = await make(scoped(capability))
      if (typeof storage[capability] !== 'function') {
        const reason = `${name} has no ${capability} (an optional capability)`
        console.warn(`[${name}] skipped "${capability}: ${title}": ${reason}`)
        test.skip(reason)
      }
      for (const guarantee of needs) {
        const reason = options.unenforced?.[guarantee]
        if (reason === undefined) continue
        console.warn(`[${name}] skipped "${capability}: ${title}": ${reason}`)
        test.skip(reason)
      }
      await check(storage as StorageWith<C>)
    },
    timeout,
  )
}
