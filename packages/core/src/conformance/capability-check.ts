import { it } from 'vitest'
import type { AttributeStorage } from '../contract.js'
import type { ServerGuarantee, SuiteContext } from './context.js'

/** The optional capabilities of the contract. */
export type Capability =
  'cleanStaleWrites' | 'dispose' | 'signedUrl' | 'createDirectUpload' | 'readWhole'

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
  // A guarantee the server is known not to give is known now: the check is skipped at
  // collection, with the reason printed.
  const unenforced = needs
    .map((guarantee) => options.unenforced?.[guarantee])
    .find((reason) => reason !== undefined)
  if (unenforced !== undefined)
    console.warn(`[${name}] skipped "${capability}: ${title}": ${unenforced}`)
  it.skipIf(unenforced !== undefined)(
    `${capability}: ${title}`,
    async (test) => {
      // Whether the storage has the capability is known once it is made.
      const storage = await make(scoped(capability))
      const missing = typeof storage[capability] !== 'function'
      const reason = `${name} has no ${capability} (an optional capability)`
      if (missing) console.warn(`[${name}] skipped "${capability}: ${title}": ${reason}`)
      test.skip(missing, reason)
      await check(storage as StorageWith<C>)
    },
    timeout,
  )
}
