import { startS3OrSkip } from '@attrstore/testing'
import { FINDINGS, unenforcedBy } from './server-findings.js'
import { describeS3Conformance } from './support.js'

// s3rver: strict legacy server, no conditional writes, stores aws-chunked framing as data
// when the SDK's default checksums are on. In a child process, so the large-body case measures the client alone.
describeS3Conformance(
  's3rver',
  await startS3OrSkip({ engine: 's3rver', isolate: true }),
  {},
  { unenforced: unenforcedBy('s3rver', FINDINGS.s3rver) },
)
