/**
 * Real S3 clients nobody here wrote, driven as child processes against the gateway: the aws
 * CLI, boto3, s3cmd and rclone. Each runs with a configuration of its own in a temporary
 * directory (no ~/.aws, ~/.s3cfg or rclone.conf of the machine), path-style addressing,
 * SigV4, and bounded timeouts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { awsCli, runClient, whyClientCannotRun } from '@attrstore/testing'
import { CREDENTIAL, REGION } from './gateway-fixture.js'

/** What every client test does, in the client's own terms. */
export interface GatewayClient {
  name: string
  /** Why it cannot run here, or undefined. */
  missing: string | undefined
  listBuckets(): Promise<string[]>
  /** Every key of a bucket (the client paginates). */
  listAll(bucket: string): Promise<string[]>
  /** The top level with delimiter `/`: keys and common prefixes. */
  listTop(bucket: string): Promise<{ keys: string[]; prefixes: string[] }>
  get(bucket: string, key: string): Promise<Buffer>
  /** Bytes `start` to the end (s3cmd can only resume) or to `end` inclusive. */
  range(bucket: string, key: string, start: number, end: number): Promise<Buffer>
  /** A listing with a wrong secret: rejects with the client's error output. */
  listWithWrongSecret(bucket: string): Promise<unknown>
  /** Uploads `bytes` as `key` (the gateway is read-only: rejects with the client's error output). */
  put(bucket: string, key: string, bytes: Buffer): Promise<unknown>
  stop(): Promise<void>
}

const lines = (out: Buffer): string[] =>
  out
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')

/** What every client runs with: PATH, `home` as HOME, a UTF-8 locale, no .pyc files. */
function clientEnvironment(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    LC_ALL: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
  }
}

async function scratch(name: string): Promise<{ directory: string; env: Record<string, string> }> {
  const directory = await mkdtemp(path.join(tmpdir(), `attrstore-gateway-${name}-`))
  return { directory, env: clientEnvironment(directory) }
}

/** The gateway's endpoint with the test credential and region, as the clients take it. */
const gatewayTarget = (endpoint: string) => ({ endpoint, region: REGION, credentials: CREDENTIAL })

export async function awsClient(endpoint: string): Promise<GatewayClient> {
  const { directory, aws, json, stop } = await awsCli(gatewayTarget(endpoint))
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: directory }
  let files = 0
  const out = () => path.join(directory, `out-${++files}`)
  return {
    name: 'the aws CLI',
    missing: await whyClientCannotRun('the aws CLI', 'aws', ['--version'], env),
    async listBuckets() {
      return (await json(['s3api', 'list-buckets'])).Buckets.map((b: { Name: string }) => b.Name)
    },
    async listAll(bucket) {
      return ((await json(['s3api', 'list-objects-v2', '--bucket', bucket])).Contents ?? []).map(
        (c: { Key: string }) => c.Key,
      )
    },
    async listTop(bucket) {
      const listed = await json([
        's3api',
        'list-objects-v2',
        '--bucket',
        bucket,
        '--delimiter',
        '/',
      ])
      return {
        keys: (listed.Contents ?? []).map((c: { Key: string }) => c.Key),
        prefixes: (listed.CommonPrefixes ?? []).map((p: { Prefix: string }) => p.Prefix),
      }
    },
    async get(bucket, key) {
      const file = out()
      await aws(['s3', 'cp', `s3://${bucket}/${key}`, file, '--no-progress'])
      return readFile(file)
    },
    async range(bucket, key, start, end) {
      const file = out()
      await aws([
        's3api',
        'get-object',
        '--bucket',
        bucket,
        '--key',
        key,
        '--range',
        `bytes=${start}-${end}`,
        file,
      ])
      return readFile(file)
    },
    listWithWrongSecret: (bucket) =>
      aws(['s3api', 'list-objects-v2', '--bucket', bucket], { AWS_SECRET_ACCESS_KEY: 'wrong' }),
    async put(bucket, key, bytes) {
      const file = out()
      await writeFile(file, bytes)
      return aws(['s3', 'cp', file, `s3://${bucket}/${key}`, '--no-progress'])
    },
    stop,
  }
}

/** `aws s3 presign`'s URL for a key (SigV4, as configured by `awsCli`). */
export async function awsPresign(
  endpoint: string,
  bucket: string,
  key: string,
  expiresIn = 300,
): Promise<string> {
  const { aws, stop } = await awsCli(gatewayTarget(endpoint))
  try {
    const out = await aws([
      's3',
      'presign',
      `s3://${bucket}/${key}`,
      '--expires-in',
      String(expiresIn),
    ])
    return out.toString().trim()
  } finally {
    await stop()
  }
}

/** curl's body for a URL (`-f`: an HTTP error fails). */
export async function curl(url: string): Promise<Buffer> {
  return runClient('curl', ['-s', '-S', '-f', '--max-time', '30', url], {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  })
}

const BOTO3_SCRIPT = `
import json, sys, os
import boto3
from botocore.config import Config
endpoint, op, bucket = sys.argv[1:4]
rest = sys.argv[4:]
client = boto3.client('s3', endpoint_url=endpoint, region_name=os.environ['REGION'],
    aws_access_key_id=os.environ['KEY'], aws_secret_access_key=os.environ['SECRET'],
    config=Config(s3={'addressing_style': 'path'}, signature_version='s3v4',
    retries={'max_attempts': 1}, connect_timeout=10, read_timeout=30))
if op == 'buckets':
    print(json.dumps([b['Name'] for b in client.list_buckets()['Buckets']]))
elif op == 'list':
    keys, prefixes = [], []
    args = {'Bucket': bucket}
    if rest: args['Delimiter'] = rest[0]
    for page in client.get_paginator('list_objects_v2').paginate(**args):
        keys += [c['Key'] for c in page.get('Contents', [])]
        prefixes += [p['Prefix'] for p in page.get('CommonPrefixes', [])]
    print(json.dumps({'keys': keys, 'prefixes': prefixes}))
elif op == 'get':
    key, out = rest[:2]
    extra = {'Range': rest[2]} if len(rest) > 2 else {}
    with open(out, 'wb') as f: f.write(client.get_object(Bucket=bucket, Key=key, **extra)['Body'].read())
elif op == 'put':
    key, source = rest[:2]
    with open(source, 'rb') as f: client.put_object(Bucket=bucket, Key=key, Body=f.read())
`

/**
 * The environment of a boto3 script run with `home` as HOME: the test credential and region
 * (as KEY, SECRET, REGION, which the script passes to boto3), no configuration of the machine.
 */
export function boto3Environment(home: string): Record<string, string> {
  return {
    ...clientEnvironment(home),
    REGION,
    KEY: CREDENTIAL.accessKeyId,
    SECRET: CREDENTIAL.secretAccessKey,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  }
}

export async function boto3(endpoint: string): Promise<GatewayClient> {
  const { directory } = await scratch('boto3')
  const env = boto3Environment(directory)
  const py = (args: string[], extra: Record<string, string> = {}) =>
    runClient('python3', ['-c', BOTO3_SCRIPT, endpoint, ...args], { ...env, ...extra })
  let files = 0
  const get = async (bucket: string, key: string, range?: string) => {
    const file = path.join(directory, `out-${++files}`)
    await py(['get', bucket, key, file, ...(range ? [range] : [])])
    return readFile(file)
  }
  return {
    name: 'boto3',
    missing: await whyClientCannotRun('boto3', 'python3', ['-c', 'import boto3'], env),
    listBuckets: async () => JSON.parse((await py(['buckets', '-'])).toString()),
    listAll: async (bucket) => JSON.parse((await py(['list', bucket])).toString()).keys,
    listTop: async (bucket) => JSON.parse((await py(['list', bucket, '/'])).toString()),
    get: (bucket, key) => get(bucket, key),
    range: (bucket, key, start, end) => get(bucket, key, `bytes=${start}-${end}`),
    listWithWrongSecret: (bucket) => py(['list', bucket], { SECRET: 'wrong' }),
    async put(bucket, key, bytes) {
      const file = path.join(directory, `in-${++files}`)
      await writeFile(file, bytes)
      return py(['put', bucket, key, file])
    },
    stop: () => rm(directory, { recursive: true, force: true }),
  }
}

export async function s3cmd(endpoint: string): Promise<GatewayClient> {
  const { directory, env } = await scratch('s3cmd')
  const host = new URL(endpoint).host
  const configFor = async (secret: string) => {
    const file = path.join(
      directory,
      secret === CREDENTIAL.secretAccessKey ? 's3cfg' : 's3cfg-wrong',
    )
    // signature_v2 = False: s3cmd signs with SigV4 (it may fall back to SigV2 otherwise).
    await writeFile(
      file,
      [
        '[default]',
        `access_key = ${CREDENTIAL.accessKeyId}`,
        `secret_key = ${secret}`,
        `host_base = ${host}`,
        `host_bucket = ${host}`,
        `bucket_location = ${REGION}`,
        'use_https = False',
        'signature_v2 = False',
        'progress_meter = False',
        'socket_timeout = 30',
        'max_retries = 1',
        '',
      ].join('\n'),
    )
    return file
  }
  const config = await configFor(CREDENTIAL.secretAccessKey)
  const s3 = (args: string[], file = config) => runClient('s3cmd', ['-c', file, ...args], env)
  /** `2026-12-01 16:17      1234  s3://bucket/key` (or `DIR  s3://bucket/prefix/`). */
  const listed = (out: Buffer, bucket: string) =>
    lines(out).map((line) => line.slice(line.indexOf(`s3://${bucket}/`) + `s3://${bucket}/`.length))
  let files = 0
  return {
    name: 's3cmd',
    missing: await whyClientCannotRun('s3cmd', 's3cmd', ['--version'], env),
    listBuckets: async () =>
      lines(await s3(['ls'])).map((line) => line.slice(line.indexOf('s3://') + 5)),
    listAll: async (bucket) => listed(await s3(['ls', '-r', `s3://${bucket}/`]), bucket),
    async listTop(bucket) {
      const out = lines(await s3(['ls', `s3://${bucket}/`]))
      const strip = (line: string) =>
        line.slice(line.indexOf(`s3://${bucket}/`) + `s3://${bucket}/`.length)
      return {
        keys: out.filter((line) => !/^\s*DIR\s/.test(line)).map(strip),
        prefixes: out.filter((line) => /^\s*DIR\s/.test(line)).map(strip),
      }
    },
    async get(bucket, key) {
      const file = path.join(directory, `out-${++files}`)
      await s3(['get', '--force', `s3://${bucket}/${key}`, file])
      return readFile(file)
    },
    async range(bucket, key, start) {
      // s3cmd reads a range only to resume a download: `--continue` sends `Range: bytes=<size>-`.
      const file = path.join(directory, `out-${++files}`)
      await writeFile(file, Buffer.alloc(start))
      await s3(['get', '--continue', `s3://${bucket}/${key}`, file])
      return (await readFile(file)).subarray(start)
    },
    listWithWrongSecret: async (bucket) => s3(['ls', `s3://${bucket}/`], await configFor('wrong')),
    async put(bucket, key, bytes) {
      const file = path.join(directory, `in-${++files}`)
      await writeFile(file, bytes)
      return s3(['put', file, `s3://${bucket}/${key}`])
    },
    stop: () => rm(directory, { recursive: true, force: true }),
  }
}

export async function rclone(endpoint: string): Promise<GatewayClient> {
  const { directory, env } = await scratch('rclone')
  Object.assign(env, {
    RCLONE_CONFIG: path.join(directory, 'rclone.conf'),
    RCLONE_CONFIG_GW_TYPE: 's3',
    RCLONE_CONFIG_GW_PROVIDER: 'Other',
    RCLONE_CONFIG_GW_ENDPOINT: endpoint,
    RCLONE_CONFIG_GW_REGION: REGION,
    RCLONE_CONFIG_GW_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_GW_ACCESS_KEY_ID: CREDENTIAL.accessKeyId,
    RCLONE_CONFIG_GW_SECRET_ACCESS_KEY: CREDENTIAL.secretAccessKey,
  })
  const common = [
    '--retries',
    '1',
    '--low-level-retries',
    '1',
    '--timeout',
    '30s',
    '--contimeout',
    '10s',
  ]
  const rc = (args: string[], extra: Record<string, string> = {}) =>
    runClient('rclone', [...args, ...common], { ...env, ...extra })
  let files = 0
  return {
    name: 'rclone',
    missing: await whyClientCannotRun('rclone', 'rclone', ['version'], env),
    listBuckets: async () => lines(await rc(['lsf', 'gw:'])).map((line) => line.replace(/\/$/, '')),
    listAll: async (bucket) => lines(await rc(['lsf', '-R', '--files-only', `gw:${bucket}`])),
    async listTop(bucket) {
      const out = lines(await rc(['lsf', `gw:${bucket}`]))
      return {
        keys: out.filter((l) => !l.endsWith('/')),
        prefixes: out.filter((l) => l.endsWith('/')),
      }
    },
    async get(bucket, key) {
      // `rclone cat` of a missing object prints nothing and succeeds: copy it instead.
      const file = path.join(directory, `out-${++files}`)
      await rc(['copyto', `gw:${bucket}/${key}`, file])
      // A missing source is no error to rclone either: nothing is copied.
      return readFile(file).catch(() => {
        throw new Error(`rclone copied nothing: ${key} does not exist`)
      })
    },
    range: (bucket, key, start, end) =>
      rc([
        'cat',
        '--offset',
        String(start),
        '--count',
        String(end - start + 1),
        `gw:${bucket}/${key}`,
      ]),
    listWithWrongSecret: (bucket) =>
      rc(['lsf', `gw:${bucket}`], { RCLONE_CONFIG_GW_SECRET_ACCESS_KEY: 'wrong' }),
    async put(bucket, key, bytes) {
      const file = path.join(directory, `in-${++files}`)
      await writeFile(file, bytes)
      return rc(['copyto', file, `gw:${bucket}/${key}`])
    },
    stop: () => rm(directory, { recursive: true, force: true }),
  }
}
