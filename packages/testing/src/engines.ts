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

/** A server `startS3` started (or found), before its bucket is made. */
export interface Running {
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  stop(): Promise<void>
}

/** The region test servers answer for. */
export const TEST_REGION = 'us-east-1'
