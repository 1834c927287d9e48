import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { SuiteContext } from './context.js'

/**
 * The media type of a write that gives a `context.fileName` but no `contentType`: the one
 * the extension implies, recorded like a given one; an unknown extension changes nothing.
 */
export function describeMediaTypes({ name, make, scoped, recordsContentType }: SuiteContext): void {
  describe('media types from file names', () => {
    const content = Buffer.from('%PDF-1.7 not really\n')
    /** A case that needs `stat().contentType`: skipped, saying why, where none is kept. */
    const reason = 'the storage records no media types (recordsContentType: false)'
    const recorded = (title: string, body: () => Promise<void>): void => {
      if (!recordsContentType) console.warn(`[${name}] skipped "${title}": ${reason}`)
      it.skipIf(!recordsContentType)(
        recordsContentType ? title : `${title} (skipped: ${reason})`,
        body,
      )
    }

    recorded(
      'a write with fileName report.pdf and no contentType records application/pdf (bytes and streams)',
      async () => {
        const storage = await make(scoped('media-types'))
        const context = { fileName: 'report.pdf' }
        const fromBytes = await storage.write(content, { context })
        expect((await storage.stat(fromBytes.key)).contentType).toBe('application/pdf')
        const fromStream = await storage.write(Readable.from([content]), { context })
        expect((await storage.stat(fromStream.key)).contentType).toBe('application/pdf')
      },
    )

    recorded('a given contentType wins over the file name', async () => {
      const storage = await make(scoped('media-types'))
      const { key } = await storage.write(content, {
        context: { fileName: 'report.pdf' },
        contentType: 'text/plain',
      })
      expect((await storage.stat(key)).contentType).toBe('text/plain')
    })

    it('an unknown or missing extension records what a write without a file name does', async () => {
      const storage = await make(scoped('media-types'))
      const plain = await storage.stat((await storage.write(content)).key)
      for (const fileName of ['notes.no-such-extension', 'json', 'README']) {
        const { key } = await storage.write(content, { context: { fileName } })
        expect((await storage.stat(key)).contentType, fileName).toBe(plain.contentType)
      }
    })

    it('a file name implying active content (HTML, SVG, XML, JavaScript) records no such type', async () => {
      const storage = await make(scoped('media-types'))
      const plain = await storage.stat((await storage.write(content)).key)
      for (const fileName of ['avatar.html', 'logo.svg', 'page.xhtml', 'feed.xml', 'app.js']) {
        const { key } = await storage.write(content, { context: { fileName } })
        expect((await storage.stat(key)).contentType, fileName).toBe(plain.contentType)
      }
    })
  })
}
