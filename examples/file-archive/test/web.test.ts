/**
 * The archive's web page (`archive serve`) in headless Chromium, as a user would use it:
 * the CLI serves on a free port over the embedded default (SQLite + in-process S3 under a
 * temporary ARCHIVE_DIR); the page uploads a video (recorded at test time by Chromium's
 * MediaRecorder from a canvas: no fixture, no ffmpeg), a PDF and an SVG; the video plays
 * and seeks through range requests (counted in the server's access log), the PDF shows
 * inline, the SVG is downloaded rather than rendered. A screenshot of the page is saved
 * under test-results/.
 *
 * Needs Chromium at /usr/bin/chromium (Debian's `chromium`): skipped, saying so, where it
 * is missing, except under CI (CI set), where a missing browser fails.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { statSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { chromiumMissingFor, launchChromium } from '@attrstore/testing'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SCREENSHOT = path.resolve(PACKAGE_DIR, '../../test-results/file-archive-web.png')
const run = promisify(execFile)
const STEP_TIMEOUT = 20_000

const missing = chromiumMissingFor('file-archive web page in Chromium')

/** A minimal valid PDF (one page, one line of text), with a correct cross-reference table. */
function minimalPdf(text: string): Buffer {
  const content = `BT /F1 24 Tf 72 720 Td (${text}) Tj ET`
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ]
  let pdf = '%PDF-1.4\n'
  const offsets: number[] = []
  objects.forEach((body, index) => {
    offsets.push(pdf.length)
    pdf += `${index + 1} 0 obj\n${body}\nendobj\n`
  })
  const xref = pdf.length
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`
  for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.from(pdf, 'latin1')
}

const SVG = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><script>document.title="ran"</script><circle cx="20" cy="20" r="18"/></svg>',
)

// What runs in the page is JavaScript text: the test's TypeScript has Node's types, not the DOM's.

/** Two seconds of an animated canvas, recorded as WebM (a real video, made here), uploaded by the page. */
const RECORD_AND_UPLOAD_VIDEO = `(async () => {
  const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 })
  const context = canvas.getContext('2d')
  const recorder = new MediaRecorder(canvas.captureStream(30), { mimeType: 'video/webm' })
  const chunks = []
  recorder.ondataavailable = (event) => chunks.push(event.data)
  let frame = 0
  const draw = setInterval(() => {
    context.fillStyle = 'hsl(' + ((frame * 9) % 360) + ', 80%, 50%)'
    context.fillRect(0, 0, 320, 240)
    context.fillStyle = '#000'
    context.font = '48px sans-serif'
    context.fillText(String(frame++), 20, 140)
  }, 33)
  recorder.start(250)
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const stopped = new Promise((resolve) => (recorder.onstop = resolve))
  recorder.stop()
  await stopped
  clearInterval(draw)
  return window.archive.upload(new File(chunks, 'clip.webm', { type: 'video/webm' }))
})()`

/** Plays the previewed video past 0.3 s, then seeks to 1.5 s. */
const PLAY_AND_SEEK = `(async () => {
  const video = document.getElementById('player')
  video.muted = true
  await video.play()
  await new Promise((resolve) => {
    const check = () => (video.currentTime > 0.3 ? resolve() : setTimeout(check, 50))
    check()
  })
  const seeked = new Promise((resolve) => video.addEventListener('seeked', resolve, { once: true }))
  video.currentTime = 1.5
  await seeked
  return { playedTo: video.currentTime, width: video.videoWidth }
})()`

/** Runs an archive command to its end; resolves with its stdout. */
async function archiveCli(args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--conditions=@attrstore/source', 'src/main.ts', ...args],
    { cwd: PACKAGE_DIR, env: { ...process.env, ...env }, timeout: 60_000 },
  )
  return stdout
}

/** Runs `archive serve --port 0`; resolves with its URL once it listens. */
function serve(
  env: Record<string, string>,
): Promise<{ child: ChildProcessWithoutNullStreams; url: string; log: string[] }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@attrstore/source',
      'src/main.ts',
      '-q',
      'serve',
      '--port',
      '0',
    ],
    { cwd: PACKAGE_DIR, env: { ...process.env, ...env } },
  )
  const log: string[] = []
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
    log.push(...chunk.split('\n').filter(Boolean))
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`archive serve did not start: ${stderr}`))
    }, 30_000)
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const url = /serving the archive at (http:\/\/\S+\/)/.exec(stdout)?.[1]
      if (url) {
        clearTimeout(timer)
        resolve({ child, url, log })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`archive serve exited with ${code}: ${stderr}`))
    })
  })
}

interface Listed {
  id: number
  name: string
  mediaType: string
  size: number
}

describe.skipIf(missing !== undefined)('the file-archive web page in Chromium', () => {
  let work: string
  let server: Awaited<ReturnType<typeof serve>>
  let browser: Browser
  let page: Page
  const files = new Map<string, Listed>()

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'file-archive-web-'))
    server = await serve({ ARCHIVE_DIR: path.join(work, 'archive') })
    browser = await launchChromium({ args: ['--autoplay-policy=no-user-gesture-required'] })
    page = await (await browser.newContext({ acceptDownloads: true })).newPage()
    page.setDefaultTimeout(STEP_TIMEOUT)
    await page.goto(server.url)
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    if (server && server.child.exitCode === null) {
      const exited = new Promise((resolve) => server.child.once('exit', resolve))
      server.child.kill('SIGTERM')
      const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    if (work) await rm(work, { recursive: true, force: true })
  })

  const refreshed = async (): Promise<void> => {
    const listed = (await page.evaluate('window.archive.refresh()')) as Listed[]
    for (const file of listed) files.set(file.name, file)
  }

  it('uploads a video the page records, through the server', async () => {
    const uploaded = (await page.evaluate(RECORD_AND_UPLOAD_VIDEO)) as { id: number; size: number }
    expect(uploaded.size).toBeGreaterThan(1000)
    await refreshed()
    expect(files.get('clip.webm')).toMatchObject({ mediaType: 'video/webm', size: uploaded.size })
  })

  it('uploads a PDF and an SVG through the form', async () => {
    await page.setInputFiles('#picker', [
      { name: 'notes.pdf', mimeType: 'application/pdf', buffer: minimalPdf('attrstore') },
      { name: 'drawing.svg', mimeType: 'image/svg+xml', buffer: SVG },
    ])
    await page.click('#upload-form button[type=submit]')
    await page.locator('#status', { hasText: '2 file(s) uploaded' }).waitFor()
    await refreshed()
    expect(files.get('notes.pdf')).toMatchObject({ mediaType: 'application/pdf' })
    expect(files.get('drawing.svg')).toMatchObject({ mediaType: 'image/svg+xml', size: SVG.length })
    expect(await page.locator('#files tr').count()).toBe(3)
  })

  it('plays the video inline and seeks it, with range requests', async () => {
    const clip = files.get('clip.webm')!
    const served = page.waitForResponse((response) => response.url().endsWith(`/files/${clip.id}`))
    await page.locator('tr[data-name="clip.webm"] button.preview').click()
    const response = await served
    expect(response.headers()['content-disposition']).toMatch(/^inline/)
    const played = (await page.evaluate(PLAY_AND_SEEK)) as { playedTo: number; width: number }
    expect(played.width).toBe(320)
    expect(played.playedTo).toBeGreaterThanOrEqual(1.4)
    const ranged = server.log.filter((line) =>
      new RegExp(`^GET /files/${clip.id} 206 range=bytes=`).test(line),
    )
    expect(ranged.length, server.log.join('\n')).toBeGreaterThan(0)
    console.log(`[web] the video took ${ranged.length} range request(s), answered 206`)
    await mkdir(path.dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(1000)
  })

  it('shows the PDF inline', async () => {
    const pdf = files.get('notes.pdf')!
    const served = page.waitForResponse((response) => response.url().endsWith(`/files/${pdf.id}`))
    await page.locator('tr[data-name="notes.pdf"] button.preview').click()
    const response = await served
    expect(response.status()).toBe(200)
    expect(response.headers()['content-type']).toBe('application/pdf')
    expect(response.headers()['content-disposition']).toMatch(/^inline/)
    // Not an error page nor a download: the frame navigated to the document.
    const frame = () => page.frames().find((f) => f.url() === `${server.url}files/${pdf.id}`)
    await expect.poll(frame, { timeout: STEP_TIMEOUT }).toBeDefined()
    // Chromium's PDF viewer holds the document: a page of that media type, in the frame.
    await frame()!.waitForLoadState()
    expect(await frame()!.evaluate('document.contentType')).toBe('application/pdf')
    const start = await page.evaluate(async (id) => {
      const bytes = new Uint8Array(await (await fetch(`/files/${id}`)).arrayBuffer())
      return new TextDecoder().decode(bytes.subarray(0, 8))
    }, pdf.id)
    expect(start).toBe('%PDF-1.4')
  })

  it('downloads the SVG instead of rendering it', async () => {
    const svg = files.get('drawing.svg')!
    const download = page.waitForEvent('download')
    await page.locator('tr[data-name="drawing.svg"] a.open').click()
    const saved = await download
    expect(saved.suggestedFilename()).toBe('drawing.svg')
    expect(await page.title()).toBe('file archive') // the page stayed; the SVG's script never ran
    const headers = (await page.evaluate(async (id) => {
      const response = await fetch(`/files/${id}`)
      return Object.fromEntries(response.headers)
    }, svg.id)) as Record<string, string>
    expect(headers['content-disposition']).toMatch(/^attachment/)
    expect(headers['x-content-type-options']).toBe('nosniff')
  })

  it('refuses a second upload under a taken name, storing nothing', async () => {
    const refused = (await page.evaluate(async () => {
      const response = await fetch('/files/drawing.svg', { method: 'PUT', body: 'other bytes' })
      return { status: response.status, body: await response.text() }
    })) as { status: number; body: string }
    expect(refused.status).toBe(400)
    expect(refused.body).toMatch(/already in the archive/)
    await refreshed()
    expect(files.get('drawing.svg')!.size).toBe(SVG.length)
  })

  it('stops on SIGTERM with exit code 0, leaving a consistent archive', async () => {
    const exited = new Promise<number | null>((resolve) => server.child.once('exit', resolve))
    server.child.kill('SIGTERM')
    expect(await exited).toBe(0)
    const check = await archiveCli(['-q', 'check', '--deep', '--json'], {
      ARCHIVE_DIR: path.join(work, 'archive'),
    })
    expect(JSON.parse(check)).toMatchObject({ rows: 3, objects: 3, orphans: [], consistent: true })
  })
})
