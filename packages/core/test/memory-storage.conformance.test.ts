import { describeStorageConformance } from '@attrstore/core/conformance'
import { MemoryStorage } from '@attrstore/core'

describeStorageConformance('MemoryStorage', {
  create: ({ keyGenerator }) => new MemoryStorage(keyGenerator ? { keyGenerator } : {}),
  largeBody: { skip: 'MemoryStorage keeps every body in memory by design' },
})
