import { describe } from 'vitest'
import { s3EngineFromEnv, startS3OrSkip } from '@attrstore/testing'
import { describeS3Conformance } from './support.js'

// Any S3 endpoint of yours: S3_TEST_ENGINE=external AWS_S3_ENDPOINT_URL=... plus
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and S3_TEST_BUCKET to use an existing bucket).
if (s3EngineFromEnv() === 'external') {
  describeS3Conformance('the external endpoint', await startS3OrSkip({ engine: 'external' }))
} else {
  console.warn('[skip] external S3 endpoint: set S3_TEST_ENGINE=external and AWS_S3_ENDPOINT_URL')
  describe.skipIf(true)(
    'S3Storage on an external endpoint (S3_TEST_ENGINE=external to run)',
    () => {},
  )
}
