/**
 * A throwaway Ceph cluster with a RADOS Gateway, for `startS3({ engine: 'ceph' })`: one
 * `ceph-mon`, one `ceph-osd` keeping its data in memory (memstore) and one `radosgw`
 * (beast frontend), all on 127.0.0.1 with free ports, configured and stored in a fresh
 * temporary directory. Debian and Ubuntu package the binaries: `apt-get install -y
 * radosgw ceph-mon ceph-osd`.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3'
import {
  missingCommands,
  removeIfThisProcessDies,
  runCommand,
  startDaemon,
  tailOf,
  type Daemon,
} from './daemons.js'
import { S3EngineUnavailableError } from './engines.js'
import { freePort } from './ports.js'

/** The command that installs what the `ceph` engine runs. */
export const CEPH_INSTALL_COMMAND = 'apt-get install -y radosgw ceph-mon ceph-osd'

const COMMANDS = ['monmaptool', 'ceph-mon', 'ceph-osd', 'ceph', 'radosgw', 'radosgw-admin']

/** How long the cluster may take to answer signed S3 requests, unless told otherwise. */
export const DEFAULT_CEPH_START_TIMEOUT_MS = 90_000

/** A running cluster: its S3 endpoint and a user's keys. */
export interface CephCluster {
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  /** Kills the daemons it started (their process groups) and deletes the directory. */
  stop(): Promise<void>
}

/**
 * The cluster's settings. Every one here was needed on a single machine with a mostly full
 * disk: no authentication (but `ms_mon_client_mode` must still offer `secure`, or radosgw
 * waits forever for its first ticket), msgr2 on IPv4 loopback only, pools of one replica,
 * quick Paxos rounds (a cold start of about 3 s instead of 13), no disk-space alarms, and
 * a short RGW garbage-collection delay so deleted data leaves the memory store quickly.
 */
function configuration(directory: string, fsid: string, monPort: number, rgwPort: number): string {
  const at = (name: string) => path.join(directory, name)
  return `[global]
fsid = ${fsid}
mon_host = v2:127.0.0.1:${monPort}
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_msgr1 = false
ms_bind_msgr2 = true
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc secure
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
mon_data_avail_warn = 1
mon_data_avail_crit = 0
osd_objectstore = memstore
memstore_device_bytes = ${8 * 1024 ** 3}
run_dir = ${at('run')}
crash_dir = ${at('crash')}
admin_socket = ${at('run')}/$name.asok
log_file = ${at('log')}/$name.log
mon_data = ${at('mon')}/$name
osd_data = ${at('osd')}/$name
debug_rgw = 0/5
debug_rgw_access = 0/5
rgw_gc_obj_min_wait = 30
rgw_gc_processor_period = 30

[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw_data = ${at('rgw')}
`
}

/**
 * Starts the cluster and creates an S3 user. Rejects with {@link S3EngineUnavailableError}
 * when the binaries are missing, or with an error naming the daemon that failed (and the
 * tail of its log) when it does not answer within `timeoutMs`.
 */
export async function startCeph(
  options: {
    timeoutMs?: number | undefined
    env?: Record<string, string | undefined> | undefined
  } = {},
): Promise<CephCluster> {
  const missing = await missingCommands(COMMANDS, options.env)
  if (missing.length > 0) {
    throw new S3EngineUnavailableError(
      'ceph',
      `${missing.join(', ')} not found on PATH. Install Ceph's packages (Debian, Ubuntu): ` +
        `"${CEPH_INSTALL_COMMAND}" (as root).`,
    )
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_CEPH_START_TIMEOUT_MS
  const deadline = Date.now() + timeoutMs
  const directory = await mkdtemp(path.join(tmpdir(), 'attrstore-ceph-'))
  const forget = removeIfThisProcessDies(directory)
  const daemons: Daemon[] = []
  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      // Reverse order: radosgw, then the OSD, then the monitor. The data is throwaway.
      for (const daemon of [...daemons].reverse()) await daemon.kill()
      await rm(directory, { recursive: true, force: true })
      forget()
    })())
  try {
    for (const name of ['run', 'crash', 'log', 'mon', 'osd/osd.0', 'rgw']) {
      await mkdir(path.join(directory, name), { recursive: true })
    }
    const monPort = await freePort()
    let rgwPort = await freePort()
    while (rgwPort === monPort) rgwPort = await freePort()
    const fsid = randomUUID()
    const conf = path.join(directory, 'ceph.conf')
    await writeFile(conf, configuration(directory, fsid, monPort, rgwPort))
    const log = (name: string) => path.join(directory, 'log', name)
    const left = () => Math.max(1000, deadline - Date.now())
    // Each daemon runs in the foreground on this configuration, its output and its own log
    // named after its Ceph name (`mon.a`, `osd.0`, `client.rgw`), and is stopped by `stop`.
    const start = (command: string, cephName: string, args: readonly string[]): Daemon => {
      const daemon = startDaemon(
        command,
        command,
        ['-c', conf, '-f', ...args],
        log(`${cephName}.out`),
        [log(`${cephName}.log`)],
      )
      daemons.push(daemon)
      return daemon
    }

    const monmap = path.join(directory, 'monmap')
    await runCommand(
      'monmaptool',
      ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, monmap],
      left(),
    )
    await runCommand('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', monmap], left())
    const mon = start('ceph-mon', 'mon.a', ['-i', 'a'])

    // Registering the OSD is the monitor's first request: it waits for the monitor.
    const osdUuid = randomUUID()
    await guard(mon, () =>
      runCommand(
        'ceph',
        ['-c', conf, '--connect-timeout', String(Math.ceil(left() / 1000)), 'osd', 'new', osdUuid],
        left(),
      ),
    )
    await runCommand(
      'ceph-osd',
      ['-c', conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid],
      left(),
    ).catch(async (error: Error) => {
      throw new Error(
        `ceph-osd --mkfs failed: ${error.message}\n${await tailOf([log('osd.0.log')])}`,
      )
    })
    start('ceph-osd', 'osd.0', ['-i', '0'])
    // radosgw creates its pools, which waits for the OSD: no need to wait for it here.
    const rgw = start('radosgw', 'client.rgw', ['-n', 'client.rgw'])

    const endpoint = `http://127.0.0.1:${rgwPort}`
    await waitFor(daemons, rgw, deadline, timeoutMs, async () => {
      const answer = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(2000) })
      await answer.body?.cancel()
      return answer.ok
    })

    const credentials = {
      accessKeyId: `ATTRSTORE${randomBytes(6).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(24).toString('base64url'),
    }
    await guard(rgw, () =>
      runCommand(
        'radosgw-admin',
        [
          ...['-c', conf, 'user', 'create', '--uid', 'attrstore-test'],
          ...['--display-name', 'attrstore tests'],
          ...['--access-key', credentials.accessKeyId, '--secret-key', credentials.secretAccessKey],
        ],
        left(),
      ),
    )
    const region = 'us-east-1'
    const client = new S3Client({
      endpoint,
      region,
      credentials,
      forcePathStyle: true,
      maxAttempts: 1,
    })
    try {
      await waitFor(daemons, rgw, deadline, timeoutMs, async () => {
        await client.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(2000) })
        return true
      })
    } finally {
      client.destroy()
    }
    return { endpoint, region, credentials, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** Runs `step`; if `daemon` died meanwhile, says so with its log rather than the step's error. */
async function guard<T>(daemon: Daemon, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    const exit = daemon.exited()
    const why = exit ? `${daemon.name} exited (${exit})` : `${daemon.name} is up`
    throw new Error(
      `Ceph did not start: ${(error as Error).message}\n(${why})\n${await tailOf(daemon.logFiles)}`,
      { cause: error },
    )
  }
}

/**
 * Polls `ready` every 100 ms until it returns true, failing at once when a daemon exits,
 * and at `deadline` with the log tail of `waitingOn`.
 */
async function waitFor(
  daemons: readonly Daemon[],
  waitingOn: Daemon,
  deadline: number,
  timeoutMs: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  let last: unknown
  for (;;) {
    const dead = daemons.find((daemon) => daemon.exited() !== undefined)
    if (dead) {
      throw new Error(
        `Ceph did not start: ${dead.name} exited (${dead.exited()}) while waiting for ${waitingOn.name}\n` +
          (await tailOf(dead.logFiles)),
      )
    }
    try {
      if (await ready()) return
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? `: ${last.name}: ${last.message}` : ''
      throw new Error(
        `Ceph did not start: ${waitingOn.name} did not answer within ${timeoutMs} ms${reason}\n` +
          (await tailOf(waitingOn.logFiles)),
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
