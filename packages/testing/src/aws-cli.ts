/**
 * The aws CLI (Debian's `awscli`) pointed at one S3 endpoint, with a configuration of its
 * own in a temporary directory: no ~/.aws, no profile, no instance metadata; path-style
 * addressing (a test server has no DNS names), SigV4 everywhere and bounded timeouts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runClient } from './client-process.js'

/** Where {@link awsCli} points the CLI (a `TestS3` is one). */
export interface AwsCliTarget {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
}

/** The aws CLI configured for one endpoint. */
export interface AwsCli {
  /** Its scratch directory (HOME, the configuration): files for `cp` may go here. */
  directory: string
  /**
   * The environment it runs in (credentials, region and configuration as AWS_* variables):
   * boto3 and other AWS SDK clients read the same.
   */
  env: Record<string, string>
  /**
   * Runs `aws <args> --endpoint-url … --output json` (connect timeout 10 s, read timeout
   * 30 s, killed after a minute) with `extra` added to its environment; resolves to stdout.
   */
  aws(args: string[], extra?: Record<string, string>): Promise<Buffer>
  /** Its output parsed as JSON (`{}` for none). */
  json(args: string[], extra?: Record<string, string>): Promise<ReturnType<typeof JSON.parse>>
  /** Removes the scratch directory. */
  stop(): Promise<void>
}

/**
 * Configures the aws CLI for `target` in a new temporary directory.
 *
 * ```ts
 * const cli = await awsCli(s3)
 * const listed = await cli.json(['s3api', 'list-objects-v2', '--bucket', s3.bucket])
 * await cli.stop()
 * ```
 */
export async function awsCli(target: AwsCliTarget): Promise<AwsCli> {
  const directory = await mkdtemp(path.join(tmpdir(), 'attrstore-aws-cli-'))
  const config = path.join(directory, 'config')
  // SigV4 everywhere: `aws s3 presign` signs with SigV2 by default.
  await writeFile(
    config,
    `[default]\nregion = ${target.region}\ns3 =\n  addressing_style = path\n  signature_version = s3v4\n`,
  )
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: directory,
    LC_ALL: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
    AWS_ACCESS_KEY_ID: target.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.credentials.secretAccessKey,
    AWS_DEFAULT_REGION: target.region,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  }
  const common = [
    '--endpoint-url',
    target.endpoint,
    '--output',
    'json',
    '--cli-connect-timeout',
    '10',
    '--cli-read-timeout',
    '30',
  ]
  const aws = (args: string[], extra: Record<string, string> = {}) =>
    runClient('aws', [...args, ...common], { ...env, ...extra })
  const json = async (args: string[], extra: Record<string, string> = {}) =>
    JSON.parse((await aws(args, extra)).toString() || '{}')
  return { directory, env, aws, json, stop: () => rm(directory, { recursive: true, force: true }) }
}
