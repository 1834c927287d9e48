import { afterAll } from 'vitest'
import { describeOperations } from './scenarios/operations.js'
import { startStorageServerOrSkip } from './support.js'

// gc, stat and verify on a throwaway Ceph RGW cluster (Debian's radosgw, ceph-mon, ceph-osd),
// one cluster for both databases: skipped, with the reason printed, where the binaries are
// missing; nothing stands in for it.
const ceph = await startStorageServerOrSkip('ceph')
afterAll(() => ceph.server?.stop())

describeOperations('sqlite', 's3', ceph)
describeOperations('postgres', 's3', ceph)
