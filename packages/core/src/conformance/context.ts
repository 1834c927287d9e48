import type { AttributeStorage } from '../contract.js'
import type { KeyGenerator } from '../keys.js'

/** What the parts of the conformance suite share: how to make a storage for one test. */
export interface SuiteContext {
  /** A storage whose keys come from `keyGenerator` (the storage's default without one). */
  make(keyGenerator?: KeyGenerator): Promise<AttributeStorage>
  /** A key generator under the run's private prefix, in `area`. */
  scoped(area: string): KeyGenerator
  /** The storage records a SHA-256 per object. */
  recordsSha256: boolean
}
