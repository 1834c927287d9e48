import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describeStorageConformance } from '@attrstore/core/conformance'
import { BytesFileSystemStorage, RESERVED_DIRECTORY } from '@attrstore/fs'

const root = await mkdtemp(path.join(tmpdir(), 'attrstore-fs-conformance-'))

describeStorageConformance('BytesFileSystemStorage', {
  create: ({ keyGenerator }) =>
    new BytesFileSystemStorage({ root, ...(keyGenerator ? { keyGenerator } : {}) }),
  dispose: () => rm(root, { recursive: true, force: true }),
  // Only the bytes and their SHA-256 are kept on disk.
  recordsContentType: false,
  // What a write killed mid-body leaves: its temporary file, two hours old.
  leaveStaleWrite: async () => {
    const directory = path.join(root, RESERVED_DIRECTORY, 'tmp')
    await mkdir(directory, { recursive: true })
    const file = path.join(directory, `${randomUUID()}.tmp`)
    await writeFile(file, 'half a body')
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000)
    await utimes(file, old, old)
  },
})
