import { describeS3Conformance, startOrSkip } from './support.js'

// fauxqs keeps objects in memory: it runs in a child process so that the large-body
// case measures this process (the client) alone.
describeS3Conformance('fauxqs', await startOrSkip({ engine: 'fauxqs', isolate: true }))
