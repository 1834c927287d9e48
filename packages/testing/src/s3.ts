/**
 * Start an S3 endpoint for tests: MinIO in a container where a container runtime and the
 * image exist, else fauxqs in-process; s3rver (strict legacy), a throwaway Ceph cluster
 * with its RADOS Gateway (`ceph`, see `ceph.ts`) or any endpoint you run (`external`) on
 * request.
 *
 * ```ts
 * const s3 = await startS3()                       // S3_TEST_ENGINE, else auto
 * const storage = new S3Storage(s3.storageOptions)
 * await s3.stop()
 * ```
 */
import { randomUUID } from 'node:crypto'
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { startCeph } from './ceph.js'
import {
  S3_ENGINES,
  S3EngineUnavailableError,
  s3EngineFromEnv,
  type Running,
  type S3Engine,
  type StartS3Options,
  type TestS3,
} from './engines.js'
import { useExternal } from './external.js'
import { startFauxqsEngine } from './fauxqs.js'
import { minioAvailable, startMinio } from './minio.js'
import { startS3rverEngine } from './s3rver.js'

export {
  S3_ENGINES,
  S3EngineUnavailableError,
  s3EngineFromEnv,
  type S3Engine,
  type StartS3Options,
  type TestS3,
  type TestS3StorageOptions,
} from './engines.js'
export { CEPH_INSTALL_COMMAND, DEFAULT_CEPH_START_TIMEOUT_MS } from './ceph.js'
export { DEFAULT_MINIO_IMAGE } from './minio.js'

/**
 * Starts an S3 endpoint and creates a bucket on it. Rejects with
 * {@link S3EngineUnavailableError} when the engine asked for cannot run here.
 */
export async function startS3(options: StartS3Options = {}): Promise<TestS3> {
  const env = options.env ?? process.env
  let engine = options.engine ?? s3EngineFromEnv(env)
  if (engine === 'auto') engine = (await minioAvailable(options, env)) ? 'minio' : 'fauxqs'

  const running = await startEngine(engine, options, env)
  const clientConfig: S3ClientConfig = {
    endpoint: running.endpoint,
    region: running.region,
    credentials: running.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
  }
  const client = new S3Client(clientConfig)
  const created: string[] = []
  const createBucket = async (name = `attrstore-test-${randomUUID().slice(0, 8)}`) => {
    await client.send(new CreateBucketCommand({ Bucket: name }))
    created.push(name)
    return name
  }
  let bucket: string
  try {
    const given = engine === 'external' ? (options.bucket ?? env.S3_TEST_BUCKET) : options.bucket
    bucket = given !== undefined && engine === 'external' ? given : await createBucket(given)
  } catch (error) {
    client.destroy()
    await running.stop().catch(() => {})
    throw error
  }
  let stopped = false
  return {
    engine,
    endpoint: running.endpoint,
    region: running.region,
    credentials: running.credentials,
    bucket,
    clientConfig,
    storageOptions: {
      bucket,
      endpoint: running.endpoint,
      region: running.region,
      credentials: running.credentials,
    },
    env: {
      AWS_S3_ENDPOINT_URL: running.endpoint,
      AWS_ACCESS_KEY_ID: running.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: running.credentials.secretAccessKey,
      AWS_REGION: running.region,
    },
    createBucket,
    async stop() {
      if (stopped) return
      stopped = true
      try {
        // Only an external server outlives this: leave it as it was found.
        if (engine === 'external') for (const name of created) await emptyAndDelete(client, name)
      } finally {
        client.destroy()
        await running.stop()
      }
    },
  }
}

/**
 * {@link startS3}, or the reason the engine cannot run here: on `S3EngineUnavailableError`
 * prints `[skip] <reason>` and resolves to it, for the caller to skip its tests by name
 * (never another engine in its place). Any other error rejects.
 */
export async function startS3OrSkip(
  options: StartS3Options = {},
): Promise<{ s3: TestS3; skip?: undefined } | { s3?: undefined; skip: string }> {
  try {
    return { s3: await startS3(options) }
  } catch (error) {
    if (!(error instanceof S3EngineUnavailableError)) throw error
    console.warn(`[skip] ${error.message}`)
    return { skip: error.message }
  }
}

async function emptyAndDelete(client: S3Client, bucket: string): Promise<void> {
  let token: string | undefined
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }),
    )
    const keys = (page.Contents ?? []).flatMap((entry) => (entry.Key ? [{ Key: entry.Key }] : []))
    if (keys.length > 0) {
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }))
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  await client.send(new DeleteBucketCommand({ Bucket: bucket }))
}

function startEngine(
  engine: S3Engine,
  options: StartS3Options,
  env: Record<string, string | undefined>,
): Promise<Running> {
  switch (engine) {
    case 'fauxqs':
      return startFauxqsEngine(options.isolate ?? false)
    case 's3rver':
      return startS3rverEngine(options.isolate ?? false)
    case 'minio':
      return startMinio(options, env)
    case 'ceph':
      return startCeph({
        env,
        timeoutMs: options.cephTimeoutMs,
      })
    case 'external':
      return useExternal(env)
    default:
      throw new Error(`Unknown S3 engine ${JSON.stringify(engine)}: use ${S3_ENGINES.join(', ')}`)
  }
}
