import { expect, it } from 'vitest'
import { MemoryStorage, type KeyContext } from '@attrstore/core'
import { type NewObject } from '@attrstore/core/driver'

class Recording extends MemoryStorage {
  seen: boolean[] = []
  protected override async putObject(object: NewObject): Promise<void> {
    this.seen.push(object.keyIsRandom)
    return super.putObject(object)
  }
}

class OwnKeys extends Recording {
  override newKey(_context: KeyContext): string {
    return `own/${Math.random()}`
  }
}

it('tells drivers a key is random only when it comes from the driver’s own generator', async () => {
  const byDefault = new Recording()
  await byDefault.write('a')
  const custom = new Recording({ keyGenerator: () => `custom/${Math.random()}` })
  await custom.write('b')
  const overridden = new OwnKeys()
  await overridden.write('c')
  expect([byDefault.seen, custom.seen, overridden.seen]).toEqual([[true], [false], [false]])
})
