import { afterAll } from 'vitest'
import { startStorageServerOrSkip } from '../support/environment.js'
import { describeTypeormScenarios } from '../support/scenarios.js'

// On a throwaway Ceph RGW cluster (Debian's radosgw, ceph-mon, ceph-osd): skipped, with the
// reason printed, where the binaries are missing; nothing stands in for it.
const ceph = await startStorageServerOrSkip('ceph')
afterAll(() => ceph.server?.stop())

describeTypeormScenarios('postgres', 's3', ceph)
