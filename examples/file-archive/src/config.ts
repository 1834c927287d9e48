/**
 * Where the archive keeps its rows and its bytes, chosen from the environment:
 *
 * | variable | effect |
 * | --- | --- |
 * | (none) | embedded default: a SQLite file and an in-process S3 server, both under the data directory |
 * | `DATABASE_URL=postgres://...` | rows in that PostgreSQL database |
 * | `AWS_S3_ENDPOINT_URL` (or the SDK's `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`) | bytes in that S3-compatible server (MinIO, Ceph, R2...), with the usual `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` |
 * | AWS credentials and no endpoint | bytes in AWS S3 itself (`AWS_REGION`, `AWS_PROFILE`... as the SDK reads them) |
 * | `ARCHIVE_STORAGE=filesystem` | bytes as local files under the data directory (`BytesFileSystemStorage`) |
 * | `ARCHIVE_BUCKET` | bucket name (default `file-archive`), `ARCHIVE_PREFIX` a key prefix in it |
 * | `ARCHIVE_DIR` | the data directory (default `examples/file-archive/archive-data`) |
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The example's own directory: the default data directory lives there, wherever the command runs. */
export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export type DatabaseConfig = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string }

export type StorageConfig =
  | { kind: 'embedded-s3'; directory: string; bucket: string; prefix: string }
  | { kind: 's3-endpoint'; endpoint: string; variable: string; bucket: string; prefix: string }
  | { kind: 'aws'; bucket: string; prefix: string; region: string | undefined }
  | { kind: 'filesystem'; root: string }

export interface ArchiveConfig {
  /** Where the embedded database, the embedded bucket's files and local objects live. */
  dataDir: string
  database: DatabaseConfig
  storage: StorageConfig
}

type Env = Record<string, string | undefined>

const ENDPOINT_VARIABLES = [
  'AWS_S3_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL',
] as const

/** True when the environment names AWS credentials the SDK's default chain would find. */
function hasAwsCredentials(env: Env): boolean {
  return Boolean(
    (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) ||
    env.AWS_PROFILE ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE ||
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
  )
}

export function resolveConfig(env: Env = process.env, cwd = process.cwd()): ArchiveConfig {
  const dataDir = env.ARCHIVE_DIR
    ? path.resolve(cwd, env.ARCHIVE_DIR)
    : path.join(PACKAGE_DIR, 'archive-data')
  const database: DatabaseConfig = env.DATABASE_URL
    ? { kind: 'postgres', url: env.DATABASE_URL }
    : { kind: 'sqlite', file: path.join(dataDir, 'archive.sqlite') }

  const bucket = env.ARCHIVE_BUCKET || 'file-archive'
  const prefix = env.ARCHIVE_PREFIX ?? ''
  let storage: StorageConfig
  const variable = ENDPOINT_VARIABLES.find((name) => env[name])
  if (env.ARCHIVE_STORAGE === 'filesystem') {
    storage = { kind: 'filesystem', root: path.join(dataDir, 'objects') }
  } else if (variable) {
    storage = { kind: 's3-endpoint', endpoint: env[variable]!, variable, bucket, prefix }
  } else if (hasAwsCredentials(env)) {
    storage = { kind: 'aws', bucket, prefix, region: env.AWS_REGION || env.AWS_DEFAULT_REGION }
  } else {
    storage = { kind: 'embedded-s3', directory: path.join(dataDir, 'bucket'), bucket, prefix }
  }
  return { dataDir, database, storage }
}

/** Hides the password of a connection URL. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparsable URL)'
  }
}

/** One line per component, saying what is used and why. */
export function describeConfig(config: ArchiveConfig, endpoint?: string): string[] {
  const { database, storage } = config
  const db =
    database.kind === 'sqlite'
      ? `database: SQLite file ${database.file} (embedded default; set DATABASE_URL for PostgreSQL)`
      : `database: PostgreSQL ${redactUrl(database.url)} (from DATABASE_URL)`
  let bytes: string
  const where = (bucket: string, prefix: string): string =>
    `bucket ${bucket}${prefix ? `, prefix ${prefix}` : ''}`
  switch (storage.kind) {
    case 'embedded-s3':
      bytes =
        `storage: in-process S3 server (fauxqs)${endpoint ? ` at ${endpoint}` : ''}, ${where(storage.bucket, storage.prefix)} ` +
        `(embedded default; set AWS_S3_ENDPOINT_URL for MinIO or another S3 server)`
      break
    case 's3-endpoint':
      bytes = `storage: S3-compatible server ${storage.endpoint} (from ${storage.variable}), ${where(storage.bucket, storage.prefix)}`
      break
    case 'aws':
      bytes = `storage: AWS S3${storage.region ? ` in ${storage.region}` : ''} (AWS credentials, no endpoint set), ${where(storage.bucket, storage.prefix)}`
      break
    case 'filesystem':
      bytes = `storage: local files under ${storage.root} (ARCHIVE_STORAGE=filesystem)`
      break
  }
  return [db, bytes]
}
