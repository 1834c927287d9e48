/**
 * The embedded default's S3 server: fauxqs, the in-process S3-compatible server the tests
 * use (@attrstore/testing's `startS3({ engine: 'fauxqs' })`), started here with its
 * file-based object storage under the data directory: `startS3` keeps objects in memory,
 * which would forget the archive's bytes when the command ends.
 */
import { mkdir } from 'node:fs/promises'
import { withoutSqliteWarning } from './sqlite-warning.js'

export interface EmbeddedS3 {
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  bucket: string
  stop(): Promise<void>
}

export async function startEmbeddedS3(directory: string, bucket: string): Promise<EmbeddedS3> {
  await mkdir(directory, { recursive: true })
  const { startFauxqs } = await withoutSqliteWarning(() => import('fauxqs'))
  const server = await startFauxqs({
    port: 0,
    host: '127.0.0.1',
    logger: false,
    s3StorageDir: directory,
  })
  server.setup({ buckets: [bucket] }) // idempotent: the bucket survives restarts
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    region: 'us-east-1',
    // fauxqs accepts any credentials; the SDK insists on having some.
    credentials: { accessKeyId: 'file-archive', secretAccessKey: 'file-archive' },
    bucket,
    stop: () => server.stop(),
  }
}
