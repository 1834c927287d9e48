import { afterAll } from 'vitest'
import { describeMigrate } from './scenarios/migrate.js'
import { startStorageServerOrSkip } from './support.js'

// One migrate scenario on a throwaway Ceph RGW cluster (skipped, with the reason printed,
// where its binaries are missing): the CLI killed with SIGKILL mid-run, run again, then gc.
// It covers what the other two do on RGW (batched uploads, resumption, gc's listing and
// deletes); they run on the emulators in migrate-*-s3.test.ts. 600 rows: three batches.
const ceph = await startStorageServerOrSkip('ceph')
afterAll(() => ceph.server?.stop())

describeMigrate(
  'sqlite',
  's3',
  { abandoned: 2_000, killed: 600, storageToStorage: 400 },
  { named: ceph, only: ['killed'] },
)
