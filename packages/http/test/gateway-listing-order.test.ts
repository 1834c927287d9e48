/**
 * The sorting under the listings: UTF-8 byte order without encoding, and the external
 * merge sort of ListingSnapshots with runs small enough that every path runs (several
 * runs merged, common prefixes repeated across runs, pages resumed by byte offset).
 */
import { randomInt } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ListingSnapshots, type ListingEntry } from '../src/gateway/listing-snapshots.js'
import { compareUtf8 } from '../src/gateway/utf8-order.js'
import { byUtf8 } from './gateway-fixture.js'

const ALPHABET = [
  'a',
  'Z',
  '/',
  ' ',
  '#',
  '+',
  'é',
  '\u{FF5E}',
  '\u{E000}',
  '😀',
  '\u{10FFFF}',
  '日',
]
const randomKey = (): string =>
  Array.from({ length: 1 + randomInt(6) }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')

async function* from(entries: ListingEntry[]): AsyncIterable<ListingEntry> {
  yield* entries
}

describe('compareUtf8', () => {
  it('orders as the UTF-8 bytes do, surrogate pairs above U+E000..U+FFFF', () => {
    const keys = Array.from({ length: 2000 }, randomKey)
    expect([...keys].sort(compareUtf8)).toEqual([...keys].sort(byUtf8))
    // Where UTF-16 order is wrong: U+FF5E sorts before U+1F600 in UTF-8.
    expect(compareUtf8('\u{FF5E}', '😀')).toBeLessThan(0)
    expect('\u{FF5E}' < '😀').toBe(false)
  })
})

describe('ListingSnapshots', () => {
  it('merges many runs into one sorted, deduplicated listing, paged by offset', async () => {
    const snapshots = new ListingSnapshots({ runEntries: 7 })
    try {
      const keys = [...new Set(Array.from({ length: 300 }, randomKey))]
      const entries: ListingEntry[] = keys.map((key, n) => [key, n, 1000 + n])
      // Common prefixes repeat: every run holds some, the merge keeps each once.
      for (let n = 0; n < 60; n++)
        entries.splice(randomInt(entries.length), 0, [`zz-prefix-${n % 4}/`])
      const expected = [...keys, ...[0, 1, 2, 3].map((n) => `zz-prefix-${n}/`)].sort(byUtf8)
      const seen: string[] = []
      let page = await snapshots.first(from(entries), 25)
      seen.push(...page.entries.map((entry) => entry[0]))
      while (page.truncated) {
        expect(page.resume).toBeDefined()
        page = (await snapshots.page(page.resume!.snapshot, page.resume!.offset, 25))!
        seen.push(...page.entries.map((entry) => entry[0]))
      }
      expect(seen).toEqual(expected)
    } finally {
      await snapshots.close()
    }
  })

  it('answers a listing of one page without a snapshot, and forgets a served one', async () => {
    const snapshots = new ListingSnapshots()
    try {
      const page = await snapshots.first(
        from([
          ['b', 1, 0],
          ['a', 2, 0],
        ]),
        10,
      )
      expect(page).toEqual({
        entries: [
          ['a', 2, 0],
          ['b', 1, 0],
        ],
        truncated: false,
      })
      const long = await snapshots.first(
        from([
          ['b', 1, 0],
          ['a', 2, 0],
          ['c', 3, 0],
        ]),
        2,
      )
      expect(long.entries.map((e) => e[0])).toEqual(['a', 'b'])
      const last = await snapshots.page(long.resume!.snapshot, long.resume!.offset, 2)
      expect(last).toEqual({ entries: [['c', 3, 0]], truncated: false })
      // Served to its end: gone (a token naming it lists again after its last key).
      expect(await snapshots.page(long.resume!.snapshot, 0, 2)).toBeUndefined()
    } finally {
      await snapshots.close()
    }
  })
})
