/**
 * sendObject against what a hostile client or uploader controls: keys the storage cannot
 * hold, and file names crafted to make a browser show a name other than the one it saves.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse as parseContentDisposition } from 'content-disposition'
import { startHttpServer, type LoopbackServer } from '@attrstore/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { sendObject, type SendObjectOptions } from '../src/index.js'

let root: string
let storage: BytesFileSystemStorage
let served: LoopbackServer
let options: SendObjectOptions = {}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'attrstore-hostile-requests-'))
  storage = new BytesFileSystemStorage({ root })
  served = await startHttpServer((request, response) => {
    const key = decodeURIComponent(new URL(request.url!, 'http://x').pathname.slice(1))
    void sendObject(request, response, storage, key, options)
  })
})
afterAll(async () => {
  await served?.close()
  if (root) await rm(root, { recursive: true, force: true })
})

const get = (key: string) =>
  fetch(`${served.url}/${encodeURIComponent(key)}`, { signal: AbortSignal.timeout(10_000) })

describe('keys a client sends', () => {
  it('a key with a segment longer than the file system holds: 404, not 503', async () => {
    options = {}
    const response = await get(`${'a'.repeat(300)}/b`)
    expect(response.status).toBe(404)
    expect(await response.text()).toBe('Not Found\n')
  })
})

describe('file names an uploader chose', () => {
  it('bidirectional controls are dropped: a name cannot show as another (invoice<U+202E>fdp.exe)', async () => {
    const { key } = await storage.write(Buffer.from('MZ'))
    for (const control of [
      '\u202E',
      '\u202D',
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
      '\u200F',
      '\u061C',
    ]) {
      options = { fileName: `invoice${control}fdp.exe`, disposition: 'attachment' }
      const response = await get(key)
      await response.arrayBuffer()
      const parsed = parseContentDisposition(response.headers.get('content-disposition')!)
      expect(parsed.parameters.filename, JSON.stringify(control)).toBe('invoicefdp.exe')
    }
  })
})
