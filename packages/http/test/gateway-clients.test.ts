/**
 * Real S3 clients read through the gateway: the aws CLI, boto3, s3cmd and rclone, over a
 * BytesFileSystemStorage and a MemoryStorage. Each client lists buckets, lists with and
 * without a delimiter past 1,000 keys, downloads keys with unicode, spaces, `#`, `+`, `~`
 * and `=` byte-identical, reads a range, does not see a hidden prefix, and is refused
 * with a wrong secret. A missing client skips its tests, printing why; under CI=true a
 * missing client fails instead (CI installs every one of them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  awsClient,
  awsPresign,
  boto3,
  curl,
  rclone,
  s3cmd,
  type GatewayClient,
} from './gateway-clients.js'
import {
  BLOB_KEY,
  BUCKETS,
  HIDDEN_KEY,
  MANY,
  sha256Of,
  SPECIAL_KEYS,
  startGatewayWorld,
  type GatewayWorld,
} from './gateway-fixture.js'

const world: GatewayWorld = await startGatewayWorld()
const clients: GatewayClient[] = await Promise.all(
  [awsClient, boto3, s3cmd, rclone].map((make) => make(world.endpoint)),
)
afterAll(async () => {
  await Promise.all(clients.map((client) => client.stop()))
  await world.stop()
})

for (const client of clients) {
  if (client.missing) console.warn(`[skip] ${client.missing}`)
  // A client CI installs must be there: a skip would hide that nothing was tested.
  const absentInCi = process.env.CI !== undefined && client.missing !== undefined
  describe.skipIf(client.missing !== undefined && !absentInCi)(
    `${client.name} through the gateway${client.missing ? ` (skipped: ${client.missing})` : ''}`,
    () => {
      beforeAll(() => {
        if (absentInCi) throw new Error(`CI must install ${client.name}: ${client.missing}`)
      })

      it('lists the buckets, not the hidden one', async () => {
        expect((await client.listBuckets()).sort()).toEqual([...BUCKETS])
      })

      for (const bucket of BUCKETS) {
        it(`${bucket}: lists every key past 1,000 (pagination), without the hidden prefix`, async () => {
          const keys = await client.listAll(bucket)
          expect(keys.length).toBeGreaterThan(MANY)
          // s3cmd and rclone sort their own output; the order of the gateway's pages is
          // checked byte for byte in gateway-protocol.test.ts.
          expect([...keys].sort()).toEqual([...world.visibleKeys].sort())
          expect(keys).not.toContain(HIDDEN_KEY)
        })

        it(`${bucket}: lists the top level with a delimiter`, async () => {
          const { keys, prefixes } = await client.listTop(bucket)
          expect([...keys].sort()).toEqual([BLOB_KEY, 'plain.txt'])
          expect([...prefixes].sort()).toEqual(['deep/', 'dir/', 'many/'])
        })

        it(`${bucket}: downloads keys with unicode, spaces, #, +, ~ and = byte-identical`, async () => {
          for (const key of [...SPECIAL_KEYS, BLOB_KEY]) {
            const bytes = await client.get(bucket, key)
            expect({ key, sha256: sha256Of(bytes) }).toEqual({
              key,
              sha256: sha256Of(world.contents.get(key)!),
            })
          }
        })

        it(`${bucket}: reads a range`, async () => {
          const blob = world.contents.get(BLOB_KEY)!
          const start = 1024 * 1024 + 3
          const end = blob.length - 1
          const bytes = await client.range(bucket, BLOB_KEY, start, end)
          expect(bytes.length).toBe(end - start + 1)
          expect(bytes.equals(blob.subarray(start, end + 1))).toBe(true)
        })

        it(`${bucket}: cannot read the hidden prefix`, async () => {
          await expect(client.get(bucket, HIDDEN_KEY)).rejects.toThrow(
            /404|Not Found|NoSuchKey|does not exist/i,
          )
        })
      }

      it('is refused a write (403 AccessDenied), and nothing is stored', async () => {
        const key = `uploads/${client.name.replace(/\W/g, '-')}.txt`
        await expect(client.put('files', key, Buffer.from('a write'))).rejects.toThrow(
          /AccessDenied|403|Forbidden/,
        )
        expect(await world.storages.files.exists(key)).toBe(false)
      })

      it('is refused with a wrong secret', async () => {
        await expect(client.listWithWrongSecret('files')).rejects.toThrow(
          /SignatureDoesNotMatch|403/,
        )
      })
    },
  )
}

const aws = clients[0]!
describe.skipIf(aws.missing !== undefined)(
  `a URL made by aws s3 presign, fetched with curl${aws.missing ? ` (skipped: ${aws.missing})` : ''}`,
  () => {
    it('serves the object, and nothing once the signature is altered', async () => {
      const key = 'dir/résumé ☃ 日本.txt'
      const url = await awsPresign(world.endpoint, 'files', key)
      expect(url).toContain('X-Amz-Signature=')
      expect((await curl(url)).equals(world.contents.get(key)!)).toBe(true)
      const altered = url.replace(
        /X-Amz-Signature=([0-9a-f])/,
        (_, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
      )
      await expect(curl(altered)).rejects.toThrow(/403/)
    })
  },
)
