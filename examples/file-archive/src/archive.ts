/**
 * Opening the archive: the database (TypeORM DataSource), the storage, and the one line of
 * start-up code attrstore needs: `setStorage(dataSource, File, 'data', storage)`.
 */
import 'reflect-metadata'
import { mkdir } from 'node:fs/promises'
import type { AttributeStorage } from '@attrstore/core'
import { setStorage, storageEvents } from '@attrstore/typeorm'
import { DataSource, type Repository } from 'typeorm'
import { describeConfig, type ArchiveConfig, type StorageConfig } from './config.js'
import { File } from './entity.js'

export interface Archive {
  config: ArchiveConfig
  dataSource: DataSource
  files: Repository<File>
  storage: AttributeStorage
  /** The S3 endpoint in use, when the storage is S3 and we know it. */
  endpoint: string | undefined
  /** One line per component: what this archive uses. */
  describe(): string[]
  close(): Promise<void>
}

interface OpenedStorage {
  storage: AttributeStorage
  endpoint: string | undefined
  stop(): Promise<void>
}

async function openStorage(config: StorageConfig): Promise<OpenedStorage> {
  switch (config.kind) {
    case 'filesystem': {
      const { BytesFileSystemStorage } = await import('@attrstore/fs')
      return {
        storage: new BytesFileSystemStorage({ root: config.root }),
        endpoint: undefined,
        stop: async () => {},
      }
    }
    case 'embedded-s3': {
      const [{ startEmbeddedS3 }, { S3Storage }] = await Promise.all([
        import('./embedded-s3.js'),
        import('@attrstore/s3'),
      ])
      const server = await startEmbeddedS3(config.directory, config.bucket)
      const storage = new S3Storage({
        bucket: server.bucket,
        prefix: config.prefix || undefined,
        endpoint: server.endpoint,
        region: server.region,
        credentials: server.credentials,
      })
      return { storage, endpoint: server.endpoint, stop: () => server.stop() }
    }
    case 's3-endpoint':
    case 'aws': {
      // Endpoint, region and credentials: S3Storage reads AWS_S3_ENDPOINT_URL and the SDK's
      // own variables itself, as any application using attrstore would let it.
      const { S3Storage } = await import('@attrstore/s3')
      const storage = new S3Storage({ bucket: config.bucket, prefix: config.prefix || undefined })
      return {
        storage,
        endpoint: config.kind === 's3-endpoint' ? config.endpoint : undefined,
        stop: async () => {},
      }
    }
  }
}

export interface OpenOptions {
  /** Report clean-ups attrstore could not do (objects left for garbage collection). */
  warn?: (line: string) => void
}

export async function openArchive(
  config: ArchiveConfig,
  options: OpenOptions = {},
): Promise<Archive> {
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`))
  if (config.database.kind === 'sqlite' || config.storage.kind !== 's3-endpoint') {
    await mkdir(config.dataDir, { recursive: true })
  }
  const opened = await openStorage(config.storage)
  const dataSource = new DataSource(
    config.database.kind === 'sqlite'
      ? {
          type: 'better-sqlite3',
          database: config.database.file,
          entities: [File],
          synchronize: true,
        }
      : {
          type: 'postgres',
          url: config.database.url,
          entities: [File],
          synchronize: true,
          connectTimeoutMS: 5000,
        },
  )
  // The start-up hook: File.data's bytes go to this storage.
  setStorage(dataSource, File, 'data', opened.storage)
  storageEvents(dataSource).on('cleanupFailed', (failure) => {
    const reason = failure.error instanceof Error ? failure.error.message : String(failure.error)
    warn(
      `warning: could not delete object ${failure.key} (${reason}); it is left for garbage collection`,
    )
  })
  try {
    await dataSource.initialize()
  } catch (error) {
    await opened.stop()
    throw error
  }
  return {
    config,
    dataSource,
    files: dataSource.getRepository(File),
    storage: opened.storage,
    endpoint: opened.endpoint,
    describe: () => describeConfig(config, opened.endpoint),
    async close() {
      await dataSource.destroy().catch(() => {})
      await opened.stop()
    },
  }
}
