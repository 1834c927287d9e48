/**
 * What every S3 engine shares: their names, the options and result of `startS3`, the error
 * an engine that cannot run here rejects with, and what an engine gives back once running.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3'
import { loadOptional } from './optional-dependency.js'

/** The S3 servers `startS3` can give. */
export type S3Engine = 'minio' | 'fauxqs' | 's3rver' | 'ceph' | 'external'

export const S3_ENGINES: readonly S3Engine[] = ['minio', 'fauxqs', 's3rver', 'ceph', 'external']

/**
 * The engine asked for cannot start here (no container runtime, no image, no binaries, no
 * endpoint). Tests should skip, printing `message`; nothing was faked in its place.
 */
export class S3EngineUnavailableError extends Error {
  readonly engine: S3Engine
  constructor(engine: S3Engine, reason: string, options?: { cause?: unknown }) {
    super(`S3 engine "${engine}" is unavailable: ${reason}`, options)
    this.name = 'S3EngineUnavailableError'
    this.engine = engine
  }
}

/**
 * Imports `packageName`, an optional peer dependency `engine` runs on (or runs `load`, which
 * does); its absence rejects with {@link S3EngineUnavailableError} naming what to install
 * (`install`, default `[packageName]`).
 */
export function loadEnginePackage<T>(
  engine: S3Engine,
  packageName: string,
  load: () => Promise<T>,
  install?: readonly string[],
): Promise<T> {
  const unavailable = (reason: string, options: { cause: unknown }) =>
    new S3EngineUnavailableError(engine, reason, options)
  return loadOptional(
    { name: packageName, neededBy: `startS3({ engine: '${engine}' })`, install, unavailable },
    load,
  )
}

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
  /** MinIO image (default `S3_TEST_MINIO_IMAGE`, else `DEFAULT_MINIO_IMAGE`). */
  minioImage?: string
  /**
   * Pull the MinIO image when it is missing. Default: true when MinIO was asked for by
   * name (`engine: 'minio'` or `S3_TEST_ENGINE=minio`), false in auto mode;
   * `S3_TEST_MINIO_PULL=1` forces it, `S3_TEST_MINIO_PULL=0` forbids it.
   */
  pull?: boolean
  /**
   * `ceph`: how long the cluster may take to answer signed S3 requests (default
   * `DEFAULT_CEPH_START_TIMEOUT_MS`).
   */
  cephTimeoutMs?: number
  /** Environment to read (default `process.env`). */
  env?: Record<string, string | undefined>
}

/** Where {@link TestS3.storageOptions} point an `S3Storage`. */
export interface TestS3StorageOptions {
  bucket: string
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
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
  /**
   * The bucket, endpoint, region and credentials, as `new S3Storage({ ...storageOptions,
   * prefix })` of `@attrstore/s3` takes them.
   */
  storageOptions: TestS3StorageOptions
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

/** A server `startS3` started (or found), before its bucket is made. */
export interface Running {
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  stop(): Promise<void>
}

/** The region test servers answer for. */
export const TEST_REGION = 'us-east-1'
