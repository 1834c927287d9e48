/**
 * Real S3 clients nobody here wrote, run as child processes against a test server: the aws
 * CLI and boto3 (Debian's `awscli`, `python3-boto3`). Every call has a timeout. Their
 * environment is the one `awsCli` builds from scratch (no ~/.aws, no profile, no instance
 * metadata); their settings are the defaults but for path-style addressing (the server has
 * no DNS names), SigV4 and bounded timeouts.
 */
import { createHash } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { awsCli, runClient, whyClientCannotRun, type TestS3 } from '@attrstore/testing'

/** What a client saw of an object. */
export interface ClientView {
  sha256: string
  size: number
  /** User metadata (`x-amz-meta-*`), as the client reports it. */
  metadata: Record<string, string>
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

export async function s3Clients(s3: TestS3): Promise<S3Clients> {
  const cli = await awsCli(s3)
  const { directory, env } = cli
  let files = 0
  const aws = async (args: string[]) => (await cli.aws(args)).toString('utf8')
  return {
    awsMissing: await whyClientCannotRun('the aws CLI', 'aws', ['--version'], env),
    boto3Missing: await whyClientCannotRun('boto3', 'python3', ['-c', 'import boto3'], env),
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
      const out = await runClient('python3', ['-c', BOTO3_SCRIPT, s3.endpoint, s3.bucket, key], env)
      return JSON.parse(out.toString('utf8')) as ClientView
    },
    stop: cli.stop,
  }
}
