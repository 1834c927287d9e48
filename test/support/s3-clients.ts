/**
 * Real S3 clients nobody here wrote, run as child processes against a test server: the aws
 * CLI and boto3 (Debian's `awscli`, `python3-boto3`). Every call has a timeout. Their
 * environment is built from scratch (no ~/.aws, no profile, no instance metadata); their
 * settings are the defaults but for path-style addressing (the server has no DNS names) and
 * bounded timeouts.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestS3 } from '@attrstore/testing'

/** How long one client call may take before it is killed. */
const CALL_TIMEOUT_MS = 60_000

/** What a client saw of an object. */
export interface ClientView {
  sha256: string
  size: number
  /** User metadata (`x-amz-meta-*`), as the client reports it. */
  metadata: Record<string, string>
}

/** Runs a command with a timeout (SIGKILL), resolving to its stdout; rejects with its stderr. */
function run(command: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { env, timeout: CALL_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`))
        else resolve(stdout)
      },
    )
  })
}

export const sha256Of = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

const BOTO3_SCRIPT = `
import hashlib, json, sys
import boto3
from botocore.config import Config
endpoint, bucket, key = sys.argv[1:4]
client = boto3.client('s3', endpoint_url=endpoint, config=Config(
    s3={'addressing_style': 'path'}, retries={'max_attempts': 2},
    connect_timeout=10, read_timeout=30))
head = client.head_object(Bucket=bucket, Key=key)
body = client.get_object(Bucket=bucket, Key=key)['Body'].read()
print(json.dumps({'sha256': hashlib.sha256(body).hexdigest(), 'size': len(body), 'metadata': head['Metadata']}))
`

/** The aws CLI and boto3, pointed at one server; `stop()` removes their scratch directory. */
export interface S3Clients {
  /** Why the aws CLI cannot run here, or undefined when it can. */
  awsMissing: string | undefined
  /** Why boto3 cannot run here, or undefined when it can. */
  boto3Missing: string | undefined
  /** `aws s3api head-object` and `get-object`. */
  awsRead(key: string): Promise<ClientView>
  /** `aws s3api put-object`, or `aws s3 cp` (multipart above 8 MiB) with `highLevel`. */
  awsPut(key: string, bytes: Buffer, options?: { highLevel?: boolean }): Promise<void>
  /** boto3's `head_object` and `get_object`. */
  boto3Read(key: string): Promise<ClientView>
  stop(): Promise<void>
}

async function missing(
  client: string,
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<string | undefined> {
  return run(command, args, env).then(
    () => undefined,
    (error: Error) => `${client} cannot run here (${error.message.split('\n')[0]})`,
  )
}

export async function s3Clients(s3: TestS3): Promise<S3Clients> {
  const directory = await mkdtemp(path.join(tmpdir(), 'attrstore-clients-'))
  const config = path.join(directory, 'config')
  await writeFile(config, `[default]\nregion = ${s3.region}\ns3 =\n  addressing_style = path\n`)
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: directory,
    LC_ALL: 'C.UTF-8',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    AWS_DEFAULT_REGION: s3.region,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    PYTHONDONTWRITEBYTECODE: '1',
  }
  const common = [
    '--endpoint-url',
    s3.endpoint,
    '--output',
    'json',
    '--cli-connect-timeout',
    '10',
    '--cli-read-timeout',
    '30',
  ]
  let files = 0
  const aws = (args: string[]) => run('aws', [...args, ...common], env)
  return {
    awsMissing: await missing('the aws CLI', 'aws', ['--version'], env),
    boto3Missing: await missing('boto3', 'python3', ['-c', 'import boto3'], env),
    async awsRead(key) {
      const head = JSON.parse(
        await aws(['s3api', 'head-object', '--bucket', s3.bucket, '--key', key]),
      )
      const out = path.join(directory, `get-${++files}`)
      await aws(['s3api', 'get-object', '--bucket', s3.bucket, '--key', key, out])
      const bytes = await readFile(out)
      await rm(out)
      return { sha256: sha256Of(bytes), size: bytes.length, metadata: head.Metadata ?? {} }
    },
    async awsPut(key, bytes, options = {}) {
      const file = path.join(directory, `put-${++files}`)
      await writeFile(file, bytes)
      if (options.highLevel)
        await aws(['s3', 'cp', file, `s3://${s3.bucket}/${key}`, '--no-progress'])
      else await aws(['s3api', 'put-object', '--bucket', s3.bucket, '--key', key, '--body', file])
      await rm(file)
    },
    async boto3Read(key) {
      const out = await run('python3', ['-c', BOTO3_SCRIPT, s3.endpoint, s3.bucket, key], env)
      return JSON.parse(out) as ClientView
    },
    stop: () => rm(directory, { recursive: true, force: true }),
  }
}
