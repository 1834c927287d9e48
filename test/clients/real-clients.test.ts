/**
 * Real clients read what attrstore wrote, and attrstore imports what they wrote: the aws
 * CLI and boto3 against a throwaway Ceph RGW cluster. Skipped, with the reason printed,
 * where Ceph or a client is missing; nothing stands in for either.
 */
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { existingObject } from '@attrstore/core'
import { S3Storage } from '@attrstore/s3'
import { getStorageKey } from '@attrstore/typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { File } from '../support/entities.js'
import { createWorld, startDatabase, startS3OrSkip, storedKeys } from '../support/environment.js'
import { s3Clients, sha256Of, type ClientView } from '../support/s3-clients.js'

const PART_SIZE = 5 * 1024 * 1024 // S3's smallest part
const ceph = await startS3OrSkip({ engine: 'ceph' })
const clients = ceph.s3 ? await s3Clients(ceph.s3) : undefined
afterAll(async () => {
  await clients?.stop()
  await ceph.s3?.stop()
})
const skipReason = (missing: string | undefined) => ceph.skip ?? missing
for (const reason of new Set([clients?.awsMissing, clients?.boto3Missing]))
  if (reason) console.warn(`[skip] ${reason}`)

/** A storage at the bucket's root, so that its keys are the clients' keys. */
function storage(options: { keyGenerator?: () => string } = {}): S3Storage {
  const { bucket, endpoint, region, credentials } = ceph.s3!
  return new S3Storage({ bucket, endpoint, region, credentials, partSize: PART_SIZE, ...options })
}

/** A stream of unknown length: 2 parts and a bit, in chunks of odd sizes. */
function unknownLengthStream(bytes: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += 1_000_003) yield bytes.subarray(at, at + 1_000_003)
    })(),
  )
}

interface Written {
  what: string
  key: string
  bytes: Buffer
}

const readers: Array<{
  name: string
  missing: () => string | undefined
  read: (key: string) => Promise<ClientView>
}> = [
  {
    name: 'the aws CLI',
    missing: () => skipReason(clients?.awsMissing),
    read: (key) => clients!.awsRead(key),
  },
  {
    name: 'boto3',
    missing: () => skipReason(clients?.boto3Missing),
    read: (key) => clients!.boto3Read(key),
  },
]

describe.skipIf(ceph.skip !== undefined)(
  `real clients and attrstore on Ceph RGW${ceph.skip ? ` (skipped: ${ceph.skip})` : ''}`,
  () => {
    const written: Written[] = []
    let plain: S3Storage
    let named: S3Storage
    beforeAll(async () => {
      plain = storage()
      const unicodeKey = 'clients/résumé #1 ☃ 日本.txt'
      named = storage({ keyGenerator: () => unicodeKey })
      const small = Buffer.concat([Buffer.from('a Buffer, written whole\n'), randomBytes(100_000)])
      const large = randomBytes(2 * PART_SIZE + 123_457)
      const text = Buffer.from('a key with unicode and # in it: é ☃ 日本\n')
      for (const [what, target, body, bytes] of [
        ['a Buffer', plain, small, small],
        ['a stream of unknown length in parts', plain, unknownLengthStream(large), large],
        ['a custom key with unicode and #', named, text, text],
      ] as const) {
        const result = await target.write(body)
        expect(result.sha256).toBe(sha256Of(bytes))
        expect(result.size).toBe(bytes.length)
        written.push({ what, key: result.key, bytes })
      }
      expect(written[2]!.key).toBe(unicodeKey)
      expect(written[1]!.bytes.length).toBeGreaterThan(2 * PART_SIZE)
    })
    afterAll(() => {
      plain?.destroy()
      named?.destroy()
    })

    for (const reader of readers) {
      const missing = reader.missing()
      it.skipIf(missing !== undefined)(
        `${reader.name} reads each object byte-identical, its SHA-256 in x-amz-meta-sha256 or, for a stream in parts, in its hash record${missing ? ` (skipped: ${missing})` : ''}`,
        async () => {
          for (const { what, key, bytes } of written) {
            const seen = await reader.read(key)
            // A stream's SHA-256 is known only after its last part: on an unversioned
            // bucket it is in the object's hash record, which S3 tools read like any object.
            const inRecord = what === 'a stream of unknown length in parts'
            expect({ what, ...seen }).toEqual({
              what,
              sha256: sha256Of(bytes),
              size: bytes.length,
              metadata: expect.objectContaining(
                inRecord ? { 'sha256-record': '1' } : { sha256: sha256Of(bytes) },
              ),
            })
            if (inRecord) {
              const record = await reader.read(`.attrstore/sha256/${key}`)
              expect(record.size).toBe(0)
              expect(record.metadata).toEqual(
                expect.objectContaining({
                  sha256: sha256Of(bytes),
                  'object-size': String(bytes.length),
                }),
              )
            }
          }
          expect(written).toHaveLength(3)
        },
      )
    }

    const awsMissing = skipReason(clients?.awsMissing)
    it.skipIf(awsMissing !== undefined)(
      `objects put by the aws CLI are imported by existingObject() and read back through TypeORM byte-identical${awsMissing ? ` (skipped: ${awsMissing})` : ''}`,
      async () => {
        const puts = [
          {
            key: `imports/put-object ${randomBytes(4).toString('hex')}.bin`,
            bytes: randomBytes(300_000),
            highLevel: false,
          },
          // `aws s3 cp` uploads in parts above 8 MiB.
          {
            key: 'imports/s3 cp #2 ☃.bin',
            bytes: randomBytes(9 * 1024 * 1024 + 17),
            highLevel: true,
          },
        ]
        for (const { key, bytes, highLevel } of puts)
          await clients!.awsPut(key, bytes, { highLevel })

        const database = await startDatabase('sqlite')
        const root = storage()
        const world = await createWorld(database, { create: async () => root })
        try {
          const files = world.dataSource.getRepository(File)
          const ids: number[] = []
          for (const [n, { key }] of puts.entries()) {
            const file = await files.save(
              files.create({ name: `imported-${n}`, data: existingObject(key) }),
            )
            expect(getStorageKey(file, 'data')).toBe(key)
            ids.push(file.id)
          }
          // Imported in place: no copy under another key.
          const imported = (await storedKeys(root)).filter((key) => key.startsWith('imports/'))
          expect(imported).toEqual(puts.map(({ key }) => key).sort())
          for (const [n, { key, bytes }] of puts.entries()) {
            const loaded = await files.findOneByOrFail({ id: ids[n]! })
            expect(getStorageKey(loaded, 'data')).toBe(key)
            expect(Buffer.isBuffer(loaded.data)).toBe(true)
            expect(sha256Of(loaded.data as Buffer)).toBe(sha256Of(bytes))
          }
          // The clients still read them as they wrote them: the import changed nothing.
          for (const { key, bytes } of puts)
            expect((await clients!.awsRead(key)).sha256).toBe(sha256Of(bytes))
        } finally {
          await world.destroy()
          root.destroy()
          await database.stop()
        }
      },
    )
  },
)
