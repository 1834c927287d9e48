import { startS3OrSkip } from '@attrstore/testing'
import { FINDINGS, unenforcedBy } from './server-findings.js'
import { describeS3Conformance } from './support.js'

// fauxqs keeps objects in memory: it runs in a child process so that the large-body
// case measures this process (the client) alone.
describeS3Conformance(
  'fauxqs',
  await startS3OrSkip({ engine: 'fauxqs', isolate: true }),
  {},
  { unenforced: unenforcedBy('fauxqs', FINDINGS.fauxqs) },
)
