import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { expect, it } from 'vitest'
import type { NewObject } from '@attrstore/core/driver'
import { BytesFileSystemStorage } from '@attrstore/fs'

it('counts the filesystem storage’s sharded UUID keys as random', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'attrstore-random-'))
  try {
    class RecordingFs extends BytesFileSystemStorage {
      seen: boolean[] = []
      protected override async putObject(object: NewObject): Promise<void> {
        this.seen.push(object.keyIsRandom)
        return super.putObject(object)
      }
    }
    const storage = new RecordingFs({ root })
    await storage.write('x')
    const custom = new RecordingFs({ root, keyGenerator: () => 'fixed/key' })
    await custom.write('y')
    expect([storage.seen, custom.seen]).toEqual([[true], [false]])
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})
