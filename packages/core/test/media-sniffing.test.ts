import { describe, expect, it } from 'vitest'
import { isConsistentMediaType, sniffMediaType, SNIFF_LENGTH } from '../src/index.js'
import { HTML, PDF, PNG, SVG, ZIP } from './media-fixtures.js'

describe('sniffMediaType', () => {
  it.each([
    ['a PNG', PNG, 'image/png', 'signature'],
    ['a PDF', PDF, 'application/pdf', 'signature'],
    ['HTML with a doctype', HTML, 'text/html', 'markup'],
    [
      'HTML after a BOM and whitespace',
      Buffer.from('\xEF\xBB\xBF \n<p>hi</p>', 'latin1'),
      'text/html',
      'markup',
    ],
    ['an HTML comment', Buffer.from('<!-- x --><b>y</b>'), 'text/html', 'markup'],
    ['SVG', SVG, 'image/svg+xml', 'markup'],
    [
      'SVG after an XML prolog, a comment and a doctype',
      Buffer.from(
        '<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg/>',
      ),
      'image/svg+xml',
      'markup',
    ],
    [
      'XHTML',
      Buffer.from('<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>'),
      'application/xhtml+xml',
      'markup',
    ],
    ['other XML', Buffer.from('<?xml version="1.0"?><feed/>'), 'application/xml', 'markup'],
    ['CSV', Buffer.from('a,b\n1,2\n'), 'text/plain', 'text'],
    ['JSON', Buffer.from('{"a": [1, 2]}'), 'text/plain', 'text'],
    ['UTF-16 text with its BOM', Buffer.from('\uFEFFhi', 'utf16le'), 'text/plain', 'text'],
    [
      'bytes of no known format',
      Buffer.from([0x00, 0x01, 0x02, 0x03, 0x10]),
      'application/octet-stream',
      'binary',
    ],
    ['a ZIP', ZIP, 'application/zip', 'container'],
  ])('%s', async (_name, bytes, type, evidence) => {
    expect(await sniffMediaType(bytes)).toMatchObject({ type, evidence })
  })

  it("looks at file-type's detection size", async () => {
    const fileType = (await import('file-type')) as unknown as {
      reasonableDetectionSizeInBytes: number
    }
    expect(SNIFF_LENGTH).toBe(fileType.reasonableDetectionSizeInBytes)
  })

  it('nothing: empty', async () => {
    expect(await sniffMediaType(new Uint8Array())).toEqual({ type: undefined, evidence: 'empty' })
  })

  it('a text that merely mentions a tag is no markup', async () => {
    expect(await sniffMediaType(Buffer.from('use <html> for pages'))).toMatchObject({
      evidence: 'text',
    })
    expect(await sniffMediaType(Buffer.from('<htmlx>'))).toMatchObject({ evidence: 'text' })
  })
})

describe('isConsistentMediaType', () => {
  it('what the bytes prove wrong, and only that, is inconsistent', async () => {
    const png = await sniffMediaType(PNG)
    const html = await sniffMediaType(HTML)
    const text = await sniffMediaType(Buffer.from('a,b\n'))
    const binary = await sniffMediaType(Buffer.from([0, 1, 2, 3]))
    const zip = await sniffMediaType(ZIP)
    expect(isConsistentMediaType('image/png', png)).toBe(true)
    expect(isConsistentMediaType('application/pdf', png)).toBe(false)
    expect(isConsistentMediaType('application/octet-stream', png)).toBe(true)
    expect(isConsistentMediaType('image/png', html)).toBe(false)
    expect(isConsistentMediaType('text/plain', html)).toBe(true)
    expect(isConsistentMediaType('text/csv', text)).toBe(true)
    expect(isConsistentMediaType('image/png', text)).toBe(false)
    expect(isConsistentMediaType('text/csv', binary)).toBe(false)
    expect(isConsistentMediaType('image/png', binary)).toBe(false)
    expect(isConsistentMediaType('application/x-custom', binary)).toBe(true)
    expect(
      isConsistentMediaType(
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        zip,
      ),
    ).toBe(true)
    expect(isConsistentMediaType('image/png', zip)).toBe(false)
  })

  it('two names of one format are one (same registered extension)', async () => {
    const icon = Buffer.from([
      0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0x68, 4, 0, 0, 22, 0, 0, 0,
    ])
    const sniffed = await sniffMediaType(Buffer.concat([icon, Buffer.alloc(64)]))
    expect(sniffed.type).toBe('image/x-icon')
    expect(isConsistentMediaType('image/vnd.microsoft.icon', sniffed)).toBe(true)
  })
})
