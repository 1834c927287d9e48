/** The storage side of a test world: fresh filesystem roots, or fresh prefixes on an S3 server. */
import { randomUUID } from 'node:crypto'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import type { AttributeStorage } from '@attrstore/core'
import { BytesFileSystemStorage } from '@attrstore/fs'
import type { S3Engine, StartS3Options, TestS3 } from '../engines.js'
import { scratchDirectory } from './scratch.js'

/** The storages a world can use: `BytesFileSystemStorage` or `S3Storage`. */
export type StorageKind = 'fs' | 's3'

/**
 * A storage described as JSON, so that another process (a CLI under test, a fixture) can
 * open the same storage with {@link openStorage}.
 */
export type StorageSpec =
  | { kind: 'fs'; root: string }
  | {
      kind: 's3'
      bucket: string
      prefix: string
      endpoint: string
      region: string
      credentials: { accessKeyId: string; secretAccessKey: string }
    }

/**
 * Opens the storage a spec describes. A filesystem storage skips fsync (tests need no
 * durability across power loss). `@attrstore/s3` is loaded only for an S3 spec.
 */
export async function openStorage(spec: StorageSpec): Promise<AttributeStorage> {
  if (spec.kind === 'fs') return new BytesFileSystemStorage({ root: spec.root, fsync: false })
  const { S3Storage } = await import('@attrstore/s3')
  const { bucket, prefix, endpoint, region, credentials } = spec
  return new S3Storage({ bucket, prefix, endpoint, region, credentials })
}

/** Makes fresh, empty, isolated storages of one kind: a new root or prefix each time. */
export interface StorageServer {
  kind: StorageKind
  /** With `s3`: the engine that runs. */
  engine?: S3Engine
  /** Describes a fresh storage (nothing is created until it is opened and written to). */
  createSpec(): StorageSpec
  /** Opens a fresh storage: `openStorage(createSpec())`. */
  create(): Promise<AttributeStorage>
  /** Deletes the roots, or stops the S3 server (with every bucket on it). */
  stop(): Promise<void>
}

/**
 * Starts what storages of `kind` need: a scratch directory (see `scratchDirectory`), or an
 * S3 server from `startS3(s3)` (`S3_TEST_ENGINE`, else auto mode, unless `s3.engine`
 * names one). Rejects with `S3EngineUnavailableError` when that S3 engine cannot run here.
 */
export async function startStorageServer(
  kind: StorageKind,
  s3: StartS3Options = {},
): Promise<StorageServer> {
  if (kind === 's3') {
    // Loaded on demand: a filesystem-only test does not load the AWS SDK.
    const { startS3 } = await import('../s3.js')
    return storageServerOn(await startS3(s3))
  }
  const base = await scratchDirectory('attrstore-fs-')
  const createSpec = (): StorageSpec => ({ kind: 'fs', root: path.join(base, randomUUID()) })
  return {
    kind,
    createSpec,
    create: () => openStorage(createSpec()),
    stop: () => rm(base, { recursive: true, force: true }),
  }
}

/** Fresh S3 storages (a new prefix each) on a running server; `stop()` stops the server. */
export function storageServerOn(server: TestS3): StorageServer {
  const { bucket, endpoint, region, credentials } = server
  const createSpec = (): StorageSpec => ({
    kind: 's3',
    bucket,
    prefix: `world-${randomUUID()}`,
    endpoint,
    region,
    credentials,
  })
  return {
    kind: 's3',
    engine: server.engine,
    createSpec,
    create: () => openStorage(createSpec()),
    stop: () => server.stop(),
  }
}

/** S3 storages on a named engine, or why that engine cannot run here. */
export type NamedStorageServer =
  | { engine: S3Engine; server: StorageServer; skip?: undefined }
  | { engine: S3Engine; server?: undefined; skip: string }

/**
 * Starts S3 storages on `engine`, typically at a test file's top level so that its
 * describe blocks can be skipped by name. When the engine cannot run here, prints
 * `[skip] <reason>` and resolves to the reason: it never puts another engine in its place.
 * The caller stops the server.
 */
export async function startStorageServerOrSkip(engine: S3Engine): Promise<NamedStorageServer> {
  const { startS3OrSkip } = await import('../s3.js')
  const started = await startS3OrSkip({ engine })
  return started.s3
    ? { engine, server: storageServerOn(started.s3) }
    : { engine, skip: started.skip }
}
