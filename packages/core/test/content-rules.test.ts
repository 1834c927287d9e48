import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import {
  acceptsMediaType,
  assertContentRules,
  checkContent,
  checkStoredObject,
  ConfigurationError,
  MemoryStorage,
  SNIFF_LENGTH,
  ValidationError,
  type ContentRules,
  type ContentSubject,
  type ReadOptions,
} from '../src/index.js'
import { acceptedMediaRanges, collectStream, isMediaType } from '../src/driver.js'

import { HTML, PDF, PNG, SVG } from './media-fixtures.js'

const subject: ContentSubject = { entity: 'File', attribute: 'data' }

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ValidationError)
  return error as ValidationError
}

/** An endless stream of `chunk`-byte chunks that counts what was pulled from it. */
function endless(chunk: number): { body: AsyncIterable<Uint8Array>; pulled(): number } {
  let pulled = 0
  const body = (async function* () {
    for (;;) {
      pulled += chunk
      yield Buffer.alloc(chunk, 0x61)
    }
  })()
  return { body, pulled: () => pulled }
}

describe('acceptsMediaType', () => {
  it('matches types exactly, by wildcard, without parameters or case', () => {
    expect(acceptsMediaType('application/pdf', 'application/pdf')).toBe(true)
    expect(acceptsMediaType(['image/*', 'application/pdf'], 'Image/PNG; q=1')).toBe(true)
    expect(acceptsMediaType('*/*', 'application/zip')).toBe(true)
    expect(acceptsMediaType('image/*', 'application/pdf')).toBe(false)
    expect(acceptsMediaType('image/*', 'imagex/png')).toBe(false)
    expect(acceptsMediaType('application/pdf', 'image/png')).toBe(false)
  })

  it('a wildcard matches no active content; naming it does', () => {
    expect(acceptsMediaType('image/*', 'image/svg+xml')).toBe(false)
    expect(acceptsMediaType('*/*', 'text/html')).toBe(false)
    expect(acceptsMediaType('text/*', 'text/javascript')).toBe(false)
    expect(acceptsMediaType(['image/*', 'image/svg+xml'], 'image/svg+xml')).toBe(true)
  })
})

describe('checkContent on bytes', () => {
  it('maxSize: refuses more bytes than the limit, naming entity, attribute and limit', async () => {
    const error = await refusal(checkContent(Buffer.alloc(11), { maxSize: 10 }, subject))
    expect(error).toMatchObject({
      rule: 'maxSize',
      entity: 'File',
      attribute: 'data',
      expected: 10,
      actual: 11,
    })
    expect(error.code).toBe('ATTRSTORE_VALIDATION')
    expect(error.message).toMatch(/^File\.data: .*maxSize \(10 bytes\)/)
    expect(error.message).toContain('raise')
    const exact = await checkContent(Buffer.alloc(10), { maxSize: 10 }, subject)
    expect(exact.body).toEqual(Buffer.alloc(10))
    await refusal(checkContent('x'.repeat(11), { maxSize: 10 }, subject))
    await refusal(checkContent(new Uint8Array(11), { maxSize: 10 }, subject))
  })

  it('accept: a PNG named .pdf is refused by its bytes', async () => {
    const error = await refusal(
      checkContent(PNG, { accept: 'application/pdf' }, { ...subject, fileName: 'scan.pdf' }),
    )
    expect(error).toMatchObject({
      rule: 'accept',
      expected: ['application/pdf'],
      actual: 'image/png',
    })
    expect(error.message).toContain('bytes are image/png')
    const pdf = await checkContent(
      PDF,
      { accept: 'application/pdf' },
      { ...subject, fileName: 'scan.pdf' },
    )
    expect(pdf.contentType).toBe('application/pdf')
  })

  it('an HTML page declared image/png: refused with accept, and by sniffing alone', async () => {
    const declared = { ...subject, contentType: 'image/png' }
    expect(await refusal(checkContent(HTML, { accept: 'image/*' }, declared))).toMatchObject({
      rule: 'accept',
      actual: 'text/html',
    })
    const error = await refusal(checkContent(HTML, { sniff: true }, declared))
    expect(error).toMatchObject({ rule: 'mismatch', expected: 'image/png', actual: 'text/html' })
    expect(await refusal(checkContent(SVG, { accept: 'image/*' }, declared))).toMatchObject({
      rule: 'accept',
      actual: 'image/svg+xml',
    })
  })

  it('a declared type the bytes contradict is a mismatch, even where both are accepted', async () => {
    const error = await refusal(
      checkContent(
        PNG,
        { accept: ['image/*', 'application/pdf'] },
        { ...subject, contentType: 'application/pdf' },
      ),
    )
    expect(error).toMatchObject({
      rule: 'mismatch',
      expected: 'application/pdf',
      actual: 'image/png',
    })
  })

  it('empty: refused where accept is set, stored without it', async () => {
    const error = await refusal(checkContent(Buffer.alloc(0), { accept: '*/*' }, subject))
    expect(error).toMatchObject({ rule: 'empty', expected: ['*/*'], actual: 0 })
    await expect(checkContent('', { maxSize: 10, sniff: true }, subject)).resolves.toMatchObject({
      body: '',
    })
  })

  it('records the sniffed type when none is declared, keeps a declared one', async () => {
    expect((await checkContent(PNG, { accept: 'image/*' }, subject)).contentType).toBe('image/png')
    const declared = { ...subject, contentType: 'image/png; name=x' }
    expect((await checkContent(PNG, { accept: 'image/*' }, declared)).contentType).toBe(
      'image/png; name=x',
    )
    // Markup is active content: accepted when named, but not recorded on the bytes' word.
    expect((await checkContent(SVG, { accept: 'image/svg+xml' }, subject)).contentType).toBe(
      undefined,
    )
  })

  it('text formats: the file name or the declared type tells which, the bytes that it is text', async () => {
    const csv = Buffer.from('a,b\n1,2\n')
    await expect(
      checkContent(csv, { accept: 'text/csv' }, { ...subject, fileName: 'data.csv' }),
    ).resolves.toBeDefined()
    await expect(
      checkContent(csv, { accept: 'text/csv' }, { ...subject, contentType: 'text/csv' }),
    ).resolves.toBeDefined()
    expect(await refusal(checkContent(csv, { accept: 'text/csv' }, subject))).toMatchObject({
      rule: 'accept',
      actual: 'text/plain',
    })
    const binary = Buffer.from([0, 1, 2, 3])
    expect(
      await refusal(
        checkContent(binary, { accept: 'text/csv' }, { ...subject, contentType: 'text/csv' }),
      ),
    ).toMatchObject({ rule: 'mismatch', actual: 'application/octet-stream' })
  })

  it('sniff: false checks accept against the declared type, else the file name', async () => {
    await expect(
      checkContent(
        HTML,
        { accept: 'image/png', sniff: false },
        { ...subject, contentType: 'image/png' },
      ),
    ).resolves.toMatchObject({ contentType: 'image/png' })
    await expect(
      checkContent(
        PNG,
        { accept: 'application/pdf', sniff: false },
        { ...subject, fileName: 'x.pdf' },
      ),
    ).resolves.toBeDefined()
    expect(
      await refusal(checkContent(PNG, { accept: 'image/png', sniff: false }, subject)),
    ).toMatchObject({
      rule: 'accept',
      actual: undefined,
    })
  })
})

describe('checkContent on streams', () => {
  it('maxSize stops an endless stream after the limit and one chunk', async () => {
    const source = endless(1024)
    const maxSize = 64 * 1024
    const checked = await checkContent(source.body, { maxSize }, subject)
    const error = await refusal(collectStream(checked.body as Readable))
    expect(error).toMatchObject({ rule: 'maxSize', expected: maxSize })
    expect(error.actual).toBe(maxSize + 1024)
    expect(checked.failure()).toBe(error)
    expect(source.pulled()).toBeLessThanOrEqual(maxSize + 1024)
  })

  it('maxSize below the sniffed length: refused while reading ahead', async () => {
    const source = endless(1000)
    const error = await refusal(
      checkContent(source.body, { maxSize: 2500, accept: '*/*' }, subject),
    )
    expect(error).toMatchObject({ rule: 'maxSize', expected: 2500, actual: 3000 })
    expect(source.pulled()).toBe(3000)
  })

  it('reads no more than the sniffed length ahead, and releases a refused stream', async () => {
    const source = endless(1000)
    await refusal(checkContent(source.body, { accept: 'image/*' }, subject))
    expect(source.pulled()).toBe(Math.ceil(SNIFF_LENGTH / 1000) * 1000)
    const stream = Readable.from([HTML])
    await refusal(checkContent(stream, { accept: 'image/*' }, subject))
    expect(stream.destroyed).toBe(true)
  })

  it('hands back every byte of an accepted stream, with the sniffed type', async () => {
    const chunks = [
      PNG.subarray(0, 3),
      PNG.subarray(3, 20),
      PNG.subarray(20),
      Buffer.alloc(10_000, 7),
    ]
    const checked = await checkContent(
      Readable.from(chunks),
      { accept: 'image/png', maxSize: 20_000 },
      subject,
    )
    expect(checked.contentType).toBe('image/png')
    expect(await collectStream(checked.body as Readable)).toEqual(Buffer.concat(chunks))
    expect(checked.failure()).toBe(undefined)
  })

  it('refuses an empty stream where accept is set, and a PNG stream declared application/pdf', async () => {
    expect(
      await refusal(checkContent(Readable.from([]), { accept: 'image/*' }, subject)),
    ).toMatchObject({
      rule: 'empty',
    })
    expect(
      await refusal(
        checkContent(
          Readable.from([PNG]),
          { accept: 'application/pdf' },
          { ...subject, fileName: 'scan.pdf' },
        ),
      ),
    ).toMatchObject({ rule: 'accept', actual: 'image/png' })
  })

  it('web streams and Blobs: a Blob over maxSize is refused by its size, unread', async () => {
    const web = new Blob([HTML]).stream()
    expect(await refusal(checkContent(web, { accept: 'image/*' }, subject))).toMatchObject({
      rule: 'accept',
    })
    const blob = new Blob([Buffer.alloc(100)])
    expect(await refusal(checkContent(blob, { maxSize: 99 }, subject))).toMatchObject({
      rule: 'maxSize',
      actual: 100,
    })
    const checked = await checkContent(new Blob([PNG]), { accept: 'image/png' }, subject)
    expect(await collectStream(checked.body as Readable)).toEqual(PNG)
  })
})

describe('checkStoredObject', () => {
  /** A MemoryStorage that records the ranges read. */
  function recordingStorage(): { storage: MemoryStorage; reads: Array<ReadOptions | undefined> } {
    const storage = new MemoryStorage()
    const reads: Array<ReadOptions | undefined> = []
    const readStream = storage.readStream.bind(storage)
    storage.readStream = (key, options) => (reads.push(options), readStream(key, options))
    return { storage, reads }
  }

  it('maxSize from stat, without reading the object', async () => {
    const { storage, reads } = recordingStorage()
    const { key } = await storage.write(Buffer.alloc(100))
    expect(await refusal(checkStoredObject(storage, key, { maxSize: 99 }, subject))).toMatchObject({
      rule: 'maxSize',
      actual: 100,
    })
    await checkStoredObject(storage, key, { maxSize: 100 }, subject)
    expect(reads).toEqual([])
  })

  it('sniffs the first bytes only, with a ranged read', async () => {
    const { storage, reads } = recordingStorage()
    const { key } = await storage.write(Buffer.concat([PNG, Buffer.alloc(10_000)]))
    expect(
      await refusal(checkStoredObject(storage, key, { accept: 'application/pdf' }, subject)),
    ).toMatchObject({
      rule: 'accept',
      actual: 'image/png',
    })
    expect(reads).toEqual([{ range: { start: 0, end: SNIFF_LENGTH - 1 } }])
    await checkStoredObject(storage, key, { accept: 'image/*' }, subject)
  })

  it('the recorded media type counts as declared; an empty object is refused', async () => {
    const storage = new MemoryStorage()
    const html = await storage.write(HTML, { contentType: 'image/png' })
    expect(
      await refusal(checkStoredObject(storage, html.key, { sniff: true }, subject)),
    ).toMatchObject({
      rule: 'mismatch',
      expected: 'image/png',
    })
    const empty = await storage.write(Buffer.alloc(0))
    expect(
      await refusal(checkStoredObject(storage, empty.key, { accept: '*/*' }, subject)),
    ).toMatchObject({
      rule: 'empty',
    })
  })
})

describe('assertContentRules', () => {
  it.each<[string, ContentRules]>([
    ['a negative maxSize', { maxSize: -1 }],
    ['a fractional maxSize', { maxSize: 1.5 }],
    ['an empty accept list', { accept: [] }],
    ['a type without a subtype', { accept: 'image' }],
    ['a wildcard type', { accept: '*/png' }],
    ['a sniff that is no boolean', { sniff: 'yes' as unknown as boolean }],
  ])('refuses %s, naming where', (_name, rules) => {
    expect(() => assertContentRules(rules, 'File.data')).toThrow(ConfigurationError)
    expect(() => assertContentRules(rules, 'File.data')).toThrow(/^File\.data: /)
  })

  it('accepts well-formed rules', () => {
    expect(() =>
      assertContentRules(
        { maxSize: 0, accept: ['image/*', '*/*', 'application/vnd.ms-excel'], sniff: false },
        'x',
      ),
    ).not.toThrow()
  })
})

describe('acceptedMediaRanges', () => {
  it('gives the lower-cased essences of a range or a list, and refuses anything else', () => {
    expect(acceptedMediaRanges('Image/PNG', 'x')).toEqual(['image/png'])
    expect(acceptedMediaRanges(['image/*', 'text/plain; charset=utf-8'], 'x')).toEqual([
      'image/*',
      'text/plain',
    ])
    for (const wrong of ['image/png,image/jpeg', '*/png', 'image/', '', [], [7], undefined])
      expect(() => acceptedMediaRanges(wrong, 'createUpload'), String(wrong)).toThrow(
        /^createUpload: accept must be media types/,
      )
  })
})

describe('isMediaType', () => {
  it('takes type/subtype with token or quoted parameters, nothing that could end a header', () => {
    for (const good of ['application/pdf', 'text/plain; charset=utf-8', 'a/b;x="y z"', 'A/B'])
      expect(isMediaType(good), good).toBe(true)
    for (const bad of ['text', 'text/', 'text/plain\r\nX: y', 'a/b; x', 'a/b; x="\u0001"', 'é/e'])
      expect(isMediaType(bad), bad).toBe(false)
  })
})
