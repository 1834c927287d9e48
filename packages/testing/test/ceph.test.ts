import { existsSync } from 'node:fs'
import path from 'node:path'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { S3EngineUnavailableError, startS3 } from '../src/s3.js'
import { describe, expect, it } from 'vitest'
import { missingCommands } from '../src/daemons.js'
import { cephDaemonsOf, eventually, running, type CephProcess } from './ceph-processes.js'
import { firstJsonLine, spawnFixture } from '../src/fixture-process.js'

const missing = await missingCommands(['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin'])
const skip = missing.length > 0 ? `${missing.join(', ')} not installed` : undefined
if (skip) console.warn(`[skip] the ceph engine's cluster tests: ${skip}`)

describe('startS3({ engine: "ceph" }) without the binaries', () => {
  it('rejects with S3EngineUnavailableError giving the install command', async () => {
    const error = await startS3({ engine: 'ceph', env: { PATH: '/nonexistent' } }).catch(
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(S3EngineUnavailableError)
    expect((error as Error).message).toContain('apt-get install -y radosgw ceph-mon ceph-osd')
  })
})

describe.skipIf(skip)(`startS3({ engine: "ceph" })${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('two clusters at once answer signed requests; stop() ends exactly their daemons and removes their directories', async () => {
    const before = await cephDaemonsOf(process.pid)
    const clusters = await Promise.all([startS3({ engine: 'ceph' }), startS3({ engine: 'ceph' })])
    const daemons = (await cephDaemonsOf(process.pid)).filter(
      (daemon) => !before.some((old) => old.pid === daemon.pid),
    )
    expect(daemons.map((daemon) => daemon.command).sort()).toEqual([
      'ceph-mon',
      'ceph-mon',
      'ceph-osd',
      'ceph-osd',
      'radosgw',
      'radosgw',
    ])
    const directories = [...new Set(daemons.map((daemon) => path.dirname(daemon.conf!)))]
    expect(directories).toHaveLength(2)
    expect(new Set(clusters.map((s3) => s3.endpoint)).size).toBe(2)

    for (const [index, s3] of clusters.entries()) {
      const client = new S3Client(s3.clientConfig)
      await client.send(
        new PutObjectCommand({ Bucket: s3.bucket, Key: 'hello', Body: `cluster ${index}` }),
      )
      const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'hello' }))
      expect(await got.Body!.transformToString()).toBe(`cluster ${index}`)
      client.destroy()
    }

    const [first, second] = clusters as [(typeof clusters)[0], (typeof clusters)[0]]
    await first.stop()
    const stillRunning = async (list: CephProcess[]) =>
      (await Promise.all(list.map((daemon) => running(daemon.pid)))).filter(Boolean).length
    // The first cluster's directory is the one stop() removed.
    const removed = directories.filter((directory) => !existsSync(directory))
    expect(removed).toHaveLength(1)
    const ofFirst = daemons.filter((daemon) => daemon.conf!.startsWith(`${removed[0]}/`))
    expect(ofFirst).toHaveLength(3)
    expect(await stillRunning(ofFirst)).toBe(0)
    const ofSecond = daemons.filter((daemon) => !ofFirst.includes(daemon))
    expect(await stillRunning(ofSecond)).toBe(3)
    await second.stop()
    expect(await stillRunning(daemons)).toBe(0)
    for (const directory of directories) expect(existsSync(directory)).toBe(false)
  })

  it('the daemons and their directory do not outlive a process killed with SIGKILL', async () => {
    const child = spawnFixture(path.join(import.meta.dirname, 'fixtures', 'ceph-until-killed.ts'))
    const daemons = await firstJsonLine<CephProcess[]>(child, 'cluster', 100_000)
    child.kill('SIGKILL')
    expect(daemons.map((daemon) => daemon.command).sort()).toEqual([
      'ceph-mon',
      'ceph-osd',
      'radosgw',
    ])
    const gone = await eventually(
      async () =>
        (await Promise.all(daemons.map((daemon) => running(daemon.pid)))).every((up) => !up),
      10_000,
    )
    expect(gone).toBe(true)
    const directory = path.dirname(daemons[0]!.conf!)
    expect(await eventually(async () => !existsSync(directory), 10_000)).toBe(true)
  })
})
