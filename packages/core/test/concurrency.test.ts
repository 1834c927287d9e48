import { describe, expect, it } from 'vitest'
import { createReadStream } from 'node:fs'
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Limiter, hashStream, runBounded, sha256Hex } from '../src/driver.js'

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('runBounded', () => {
  it('never runs more than its limit at once and runs every item', async () => {
    let inFlight = 0
    let peak = 0
    const seen: number[] = []
    await runBounded([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      peak = Math.max(peak, ++inFlight)
      await tick(5)
      seen.push(item)
      inFlight--
    })
    expect(peak).toBe(3)
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7])
  })

  it('after a failure starts nothing new, waits for started tasks, then rejects with the first failure', async () => {
    const started: number[] = []
    const finished: number[] = []
    const run = runBounded([1, 2, 3, 4, 5, 6], 2, async (item) => {
      started.push(item)
      if (item === 1) throw new Error('first')
      await tick(20)
      if (item === 2) throw new Error('second')
      finished.push(item)
    })
    await expect(run).rejects.toThrow('first')
    // 1 failed at once; 2 had started and was waited for; nothing after that started.
    expect(started).toEqual([1, 2])
    expect(finished).toEqual([])
  })

  it('aborts the signal of started tasks at the first failure, so a stuck task ends', async () => {
    const run = runBounded([1, 2], 2, async (item, signal) => {
      if (item === 1) {
        await tick(5)
        throw new Error('first')
      }
      // Would never settle on its own: only its signal ends it.
      await new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      )
    })
    await expect(run).rejects.toThrow('first')
  })

  it('stops starting tasks once its signal aborts and rejects with the reason', async () => {
    const controller = new AbortController()
    const started: number[] = []
    const run = runBounded(
      [1, 2, 3, 4],
      1,
      async (item) => {
        started.push(item)
        if (item === 2) controller.abort(new Error('stop'))
        await tick(1)
      },
      controller.signal,
    )
    await expect(run).rejects.toThrow('stop')
    expect(started).toEqual([1, 2])
  })
})

describe('Limiter', () => {
  it('is a mutex at limit 1', async () => {
    const mutex = new Limiter(1)
    const order: string[] = []
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        mutex.run(async () => {
          order.push(`${name}+`)
          await tick(2)
          order.push(`${name}-`)
        }),
      ),
    )
    expect(order).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-'])
    expect(mutex.running).toBe(0)
  })

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new Limiter(0)).toThrow(RangeError)
  })
})

describe('hashStream', () => {
  it('gives the size and SHA-256 of a file stream, and its bytes when kept', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'attrstore-hash-'))
    try {
      const bytes = Buffer.alloc(200_000, 7)
      const file = path.join(dir, 'f')
      await writeFile(file, bytes)
      const plain = await hashStream(createReadStream(file, { highWaterMark: 4096 }))
      expect(plain).toEqual({ size: bytes.length, sha256: sha256Hex(bytes) })
      const kept = await hashStream(createReadStream(file), { keep: true })
      expect(kept.bytes?.equals(bytes)).toBe(true)
      expect(await hashStream((async function* () {})(), { keep: true })).toEqual({
        size: 0,
        sha256: sha256Hex(''),
        bytes: Buffer.alloc(0),
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
