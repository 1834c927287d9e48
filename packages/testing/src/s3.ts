/**
 * Start an S3 endpoint for tests: MinIO in a container where a container runtime and the
 * image exist, else fauxqs in-process; s3rver (strict legacy), a throwaway Ceph cluster
 * with its RADOS Gateway (`ceph`, see `ceph.ts`) or any endpoint you run (`external`) on
 * request.
 *
 * ```ts
 * const s3 = await startS3()                       // S3_TEST_ENGINE, else auto
 * const storage = new S3Storage({ bucket: s3.bucket, endpoint: s3.endpoint, credentials: s3.credentials })
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
  TEST_REGION,
  type Running,
  type S3Engine,
} from './engines.js'
import { startFauxqsHere, startInChild, startS3rverHere } from './emulators.js'

export { S3_ENGINES, S3EngineUnavailableError, type S3Engine } from './engines.js'
export { CEPH_INSTALL_COMMAND, DEFAULT_CEPH_START_TIMEOUT_MS } from './ceph.js'

/** The MinIO image used unless `minioImage` or `S3_TEST_MINIO_IMAGE` names another. */
export const DEFAULT_MINIO_IMAGE = 'minio/minio:RELEASE.2025-04-22T22-12-26Z'

export interface StartS3Options {
  /**
   * Which server. Default: `S3_TEST_ENGINE`, else `'auto'`: MinIO when a container
   * runtime runs and has the image (never pulled in auto mode), else fauxqs.
   */
  engine?: S3Engine | 'auto'
  /** The bucket to create (default: a random `attrstore-test-…` name). */
  bucket?: string
  /**
   * Run fauxqs or s3rver in a child Node process instead of this one, so that the
   * server's memory (fauxqs keeps objects in memory) does not count in this process's.
   * Default false.
   */
  isolate?: boolean
  /** MinIO image (default `S3_TEST_MINIO_IMAGE`, else {@link DEFAULT_MINIO_IMAGE}). */
  minioImage?: string
  /**
   * Pull the MinIO image when it is missing. Default: true when MinIO was asked for by
   * name (`engine: 'minio'` or `S3_TEST_ENGINE=minio`), false in auto mode;
   * `S3_TEST_MINIO_PULL=1` forces it, `S3_TEST_MINIO_PULL=0` forbids it.
   */
  pull?: boolean
  /**
   * `ceph`: how long the cluster may take to answer signed S3 requests (default
   * {@link DEFAULT_CEPH_START_TIMEOUT_MS}).
   */
  cephTimeoutMs?: number
  /** Environment to read (default `process.env`). */
  env?: Record<string, string | undefined>
}

/** A running S3 endpoint and a bucket on it. */
export interface TestS3 {
  engine: S3Engine
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  /** A bucket created for you (or `S3_TEST_BUCKET` with `external`). */
  bucket: string
  /** Ready for `new S3Client(clientConfig)`: path-style, checksums `WHEN_REQUIRED`. */
  clientConfig: S3ClientConfig
  /** The variables that point attrstore (and the AWS SDK) at this endpoint. */
  env: Record<string, string>
  /** Creates another bucket (random name by default) and returns its name. */
  createBucket(name?: string): Promise<string>
  /** Stops the server (removing what it stored), or with `external`, the buckets it created. */
  stop(): Promise<void>
}

/** The engine `S3_TEST_ENGINE` asks for (`'auto'` when unset). Throws on an unknown name. */
export function s3EngineFromEnv(
  env: Record<string, string | undefined> = process.env,
): S3Engine | 'auto' {
  const value = env.S3_TEST_ENGINE?.trim().toLowerCase()
  if (value === undefined || value === '' || value === 'auto') return 'auto'
  if ((S3_ENGINES as readonly string[]).includes(value)) return value as S3Engine
  throw new Error(
    `S3_TEST_ENGINE=${JSON.stringify(env.S3_TEST_ENGINE)} is not one of auto, ${S3_ENGINES.join(', ')}`,
  )
}

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
      return options.isolate ? startInChild('fauxqs') : startFauxqsHere()
    case 's3rver':
      return options.isolate ? startInChild('s3rver') : startS3rverHere()
    case 'minio':
      return startMinio(options, env)
    case 'ceph':
      return startCeph({
        env,
        ...(options.cephTimeoutMs === undefined ? {} : { timeoutMs: options.cephTimeoutMs }),
      })
    case 'external':
      return useExternal(env)
    default:
      throw new Error(`Unknown S3 engine ${JSON.stringify(engine)}: use ${S3_ENGINES.join(', ')}`)
  }
}

// ---------------------------------------------------------------- MinIO

const MINIO_CREDENTIALS = { accessKeyId: 'attrstore', secretAccessKey: 'attrstore-secret' }

function minioImage(options: StartS3Options, env: Record<string, string | undefined>): string {
  return options.minioImage ?? env.S3_TEST_MINIO_IMAGE ?? DEFAULT_MINIO_IMAGE
}

/** Whether a container runtime answers and already has the MinIO image. Never pulls. */
async function minioAvailable(
  options: StartS3Options,
  env: Record<string, string | undefined>,
): Promise<boolean> {
  try {
    const { getContainerRuntimeClient, ImageName } = await import('testcontainers')
    const runtime = await getContainerRuntimeClient()
    return await runtime.image.exists(ImageName.fromString(minioImage(options, env)))
  } catch {
    return false
  }
}

async function startMinio(
  options: StartS3Options,
  env: Record<string, string | undefined>,
): Promise<Running> {
  const image = minioImage(options, env)
  const { getContainerRuntimeClient, ImageName } = await import('testcontainers')
  let runtime
  try {
    runtime = await getContainerRuntimeClient()
  } catch (error) {
    throw new S3EngineUnavailableError(
      'minio',
      `no container runtime (${(error as Error).message}). Start Docker or Podman, or use S3_TEST_ENGINE=fauxqs.`,
      { cause: error },
    )
  }
  // Pull only when MinIO was asked for by name (option or S3_TEST_ENGINE), never in auto
  // mode; S3_TEST_MINIO_PULL=1 forces it, =0 forbids it.
  const explicit = options.engine === 'minio' || s3EngineFromEnv(env) === 'minio'
  const pull =
    options.pull ?? (env.S3_TEST_MINIO_PULL === '1' || (explicit && env.S3_TEST_MINIO_PULL !== '0'))
  let present: boolean
  try {
    present = await runtime.image.exists(ImageName.fromString(image))
  } catch (error) {
    throw new S3EngineUnavailableError(
      'minio',
      `cannot query images: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
  if (!present && !pull) {
    throw new S3EngineUnavailableError(
      'minio',
      `the image ${image} is not present and pulling is off. Run "docker pull ${image}", or set S3_TEST_MINIO_PULL=1.`,
    )
  }
  const { MinioContainer } = await import('@testcontainers/minio')
  let container
  try {
    container = await new MinioContainer(image)
      .withUsername(MINIO_CREDENTIALS.accessKeyId)
      .withPassword(MINIO_CREDENTIALS.secretAccessKey)
      .start()
  } catch (error) {
    throw new S3EngineUnavailableError(
      'minio',
      `the container did not start (${(error as Error).message})`,
      { cause: error },
    )
  }
  const started = container
  return {
    endpoint: `http://${started.getHost()}:${started.getPort()}`,
    region: TEST_REGION,
    credentials: MINIO_CREDENTIALS,
    async stop() {
      await started.stop()
    },
  }
}

// ---------------------------------------------------------------- external

async function useExternal(env: Record<string, string | undefined>): Promise<Running> {
  const endpoint = env.AWS_S3_ENDPOINT_URL?.trim()
  if (!endpoint) {
    throw new S3EngineUnavailableError(
      'external',
      'AWS_S3_ENDPOINT_URL is not set: point it at the S3 endpoint to test against',
    )
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY
  if (!accessKeyId || !secretAccessKey) {
    throw new S3EngineUnavailableError(
      'external',
      'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the endpoint in AWS_S3_ENDPOINT_URL',
    )
  }
  return {
    endpoint: endpoint.replace(/\/+$/, ''),
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? TEST_REGION,
    credentials: { accessKeyId, secretAccessKey },
    stop: async () => {},
  }
}
