import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describeStorageConformance } from '@attrstore/core/conformance'
import { BytesFileSystemStorage } from '@attrstore/fs'

const root = await mkdtemp(path.join(tmpdir(), 'attrstore-fs-conformance-'))

describeStorageConformance('BytesFileSystemStorage', {
  create: ({ keyGenerator }) =>
    new BytesFileSystemStorage({ root, ...(keyGenerator ? { keyGenerator } : {}) }),
  dispose: () => rm(root, { recursive: true, force: true }),
})
