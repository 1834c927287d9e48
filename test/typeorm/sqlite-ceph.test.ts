import { afterAll } from 'vitest'
import { s3StoragesOrSkip } from '../support/environment.js'
import { describeTypeormScenarios } from '../support/scenarios.js'

// On a throwaway Ceph RGW cluster (Debian's radosgw, ceph-mon, ceph-osd): skipped, with the
// reason printed, where the binaries are missing; nothing stands in for it.
const ceph = await s3StoragesOrSkip('ceph')
afterAll(() => ceph.factory?.stop())

describeTypeormScenarios('sqlite', 's3', ceph)
