/** fauxqs: the maintained Node S3 emulator (decodes aws-chunked), keeping objects in memory. */
import { startInChild, type EmulatorInChild } from './emulator-child.js'
import { loadEnginePackage, TEST_REGION, type Running } from './engines.js'
import { requireNodeSqlite } from './node-sqlite.js'

const FAUXQS_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' }

const FAUXQS_IN_CHILD: EmulatorInChild = {
  name: 'fauxqs',
  credentials: FAUXQS_CREDENTIALS,
  script: `
    const { startFauxqs } = await import('fauxqs')
    const server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' })
    globalThis.stopServer = () => server.stop()
    globalThis.serverPort = server.port
  `,
}

/** Starts fauxqs on a free loopback port, in this process or (`isolate`) in a child process. */
export async function startFauxqsEngine(isolate: boolean): Promise<Running> {
  requireNodeSqlite('fauxqs') // a child runs this same Node
  // The child imports fauxqs from the same place: its absence there is reported alike.
  if (isolate) return loadEnginePackage('fauxqs', 'fauxqs', () => startInChild(FAUXQS_IN_CHILD))
  const { startFauxqs } = await loadEnginePackage('fauxqs', 'fauxqs', () => import('fauxqs'))
  const server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' })
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    region: TEST_REGION,
    credentials: FAUXQS_CREDENTIALS,
    stop: () => server.stop(),
  }
}
