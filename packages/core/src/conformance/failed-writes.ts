import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { expect, it } from 'vitest'
import { existingObject } from '../body.js'
import { IntegrityError, ObjectNotFoundError } from '../errors.js'
import { sha256Hex } from '../integrity.js'
import { listAll, type SuiteContext } from './context.js'
import { failingBody, writeRandomObject } from './fixtures.js'

/**
 * Writes that fail (a broken body, an abort, a wrong size or hash) keep nothing; imports
 * copy nothing; verification checks the recorded hash.
 */
export function describeFailedWritesAndChecks({
  make,
  scoped,
  run,
  recordsSha256,
}: SuiteContext): void {
  it('a body that fails mid-stream rejects the write and leaves nothing', async () => {
    const key = `${run}/failing/partial`
    const storage = await make(() => key)
    await expect(storage.write(failingBody(20))).rejects.toThrow(/failed on purpose/)
    expect(await storage.exists(key)).toBe(false)
    expect(await listAll(storage, `${run}/failing/`)).toEqual([])
  })

  it('an aborted write rejects and leaves nothing', async () => {
    const key = `${run}/aborted/partial`
    const storage = await make(() => key)
    const controller = new AbortController()
    const body = (async function* () {
      for (let i = 0; i < 1000; i++) {
        if (i === 5) controller.abort()
        yield Buffer.alloc(64 * 1024, i)
        await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    await expect(storage.write(body, { signal: controller.signal })).rejects.toThrow()
    expect(await storage.exists(key)).toBe(false)
  })

  it('checks the expected size and SHA-256 of a body, keeping nothing on mismatch', async () => {
    const storage = await make(scoped('expect'))
    const content = randomBytes(4096)
    const good = await storage.write(Readable.from([content]), {
      size: 4096,
      sha256: sha256Hex(content),
    })
    expect(good.sha256).toBe(sha256Hex(content))
    const before = (await listAll(storage, `${run}/expect/`)).length
    await expect(storage.write(Readable.from([content]), { size: 4000 })).rejects.toBeInstanceOf(
      IntegrityError,
    )
    await expect(storage.write(Readable.from([content]), { size: 5000 })).rejects.toBeInstanceOf(
      IntegrityError,
    )
    await expect(
      storage.write(Readable.from([content]), { sha256: sha256Hex('other') }),
    ).rejects.toBeInstanceOf(IntegrityError)
    await expect(storage.write(content, { sha256: sha256Hex('other') })).rejects.toBeInstanceOf(
      IntegrityError,
    )
    expect(await listAll(storage, `${run}/expect/`)).toHaveLength(before)
  })

  it('imports an existing object without copying it', async () => {
    const storage = await make(scoped('import'))
    const original = await storage.write('imported body')
    const before = await listAll(storage, `${run}/import/`)
    const imported = await storage.write(existingObject(original.key))
    expect(imported).toMatchObject({ key: original.key, size: 13, imported: true })
    expect(await listAll(storage, `${run}/import/`)).toEqual(before)
    await expect(storage.write(existingObject(`${run}/import/missing`))).rejects.toBeInstanceOf(
      ObjectNotFoundError,
    )
  })

  it('verifies content against the recorded SHA-256', async () => {
    const storage = await make(scoped('verify'))
    const { key, content } = await writeRandomObject(storage, 3000)
    const result = await storage.verify(key)
    expect(result.sha256).toBe(sha256Hex(content))
    expect(result.size).toBe(3000)
    expect(result.verified).toBe(recordsSha256)
    if (recordsSha256) {
      expect((await storage.read(key, { verify: true })).equals(content)).toBe(true)
    }
  })
}
