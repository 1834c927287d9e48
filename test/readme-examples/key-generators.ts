import { MemoryStorage, type KeyContext } from '@attrstore/core'

const byEntity = new MemoryStorage({
  keyGenerator: ({ entityName, attributeName }) =>
    `${entityName}/${attributeName}/${crypto.randomUUID()}`,
})

class DatedStorage extends MemoryStorage {
  override newKey(_context: KeyContext): string {
    return `${new Date().toISOString().slice(0, 10)}/${crypto.randomUUID()}`
  }
}

const context = { entityName: 'File', attributeName: 'data' }
console.log((await byEntity.write(Buffer.from('a'), { context })).key) // File/data/0b6f...
console.log((await new DatedStorage().write(Buffer.from('b'), { context })).key) // 2026-12-01/9c1e...
