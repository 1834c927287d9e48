// Every TypeScript block of the READMEs either is a runnable example, kept as a file under
// test/readme-examples/ (the block must be that file, byte for byte, so the README cannot
// drift from what runs), or says it is a fragment. The examples run here, each in its own
// temporary directory, against real components: SQLite, the filesystem, S3 (fauxqs or
// whatever S3_TEST_ENGINE names). They typecheck with the root tsconfig (`pnpm typecheck`).
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startS3, type TestS3 } from '@attrstore/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const EXAMPLES = 'test/readme-examples'
const TIMEOUT_MS = 60_000

interface Block {
  readme: string
  line: number
  code: string
  marker: { example: string } | { fragment: true } | undefined
}

function readmes(): string[] {
  const inside = (directory: string): string[] =>
    readdirSync(path.join(ROOT, directory))
      .map((name) => path.join(directory, name, 'README.md'))
      .filter((file) => existsSync(path.join(ROOT, file)))
  return ['README.md', ...inside('packages'), ...inside('examples')]
}

/** The ```ts / ```typescript blocks of a README, with the marker comment on the line before. */
function blocksOf(readme: string): Block[] {
  const lines = readFileSync(path.join(ROOT, readme), 'utf8').split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)(`{3,})\s*(\S*)/.exec(lines[i]!)
    if (!fence) continue
    const end = lines.findIndex((line, j) => j > i && line.trim() === fence[2])
    const close = end === -1 ? lines.length : end
    if (['ts', 'typescript'].includes(fence[3]!)) {
      const before = lines[i - 1]?.trim() ?? ''
      const example = /^<!-- example: (\S+) -->$/.exec(before)
      blocks.push({
        readme,
        line: i + 1,
        code: lines.slice(i + 1, close).join('\n') + '\n',
        marker: example
          ? { example: example[1]! }
          : before === '<!-- fragment -->'
            ? { fragment: true }
            : undefined,
      })
    }
    i = close
  }
  return blocks
}

const BLOCKS = readmes().flatMap(blocksOf)
const EXAMPLE_BLOCKS = BLOCKS.flatMap((block) =>
  block.marker && 'example' in block.marker ? [{ ...block, file: block.marker.example }] : [],
)

describe('the README code blocks', () => {
  it('are all marked: an example file, or a fragment', () => {
    expect(BLOCKS.length).toBeGreaterThan(10)
    const unmarked = BLOCKS.filter((block) => !block.marker).map((b) => `${b.readme}:${b.line}`)
    expect(unmarked, 'add <!-- example: path --> or <!-- fragment --> before each').toEqual([])
  })

  it('that are examples are their file, byte for byte', () => {
    expect(EXAMPLE_BLOCKS.length).toBeGreaterThanOrEqual(6)
    for (const block of EXAMPLE_BLOCKS) {
      expect(block.file.startsWith(`${EXAMPLES}/`), block.file).toBe(true)
      const file = path.join(ROOT, block.file)
      expect(existsSync(file), `${block.readme}:${block.line}: ${block.file} is missing`).toBe(true)
      expect(block.code, `${block.readme}:${block.line} differs from ${block.file}`).toBe(
        readFileSync(file, 'utf8'),
      )
    }
  })
})

/** What each example needs in its working directory, what it prints, and whether it needs S3. */
const RUNS: Record<string, { files?: string[]; s3Bucket?: string; prints: RegExp }> = {
  'first-example.ts': {
    files: ['report.pdf', 'report-v2.pdf'],
    s3Bucket: 'my-bucket',
    prints: /^saved File 1 under key [0-9a-f-]{36}$/m,
  },
  'typeorm-stored-attribute.ts': {
    files: ['a.pdf'],
    s3Bucket: 's3-bucket',
    prints: /^File 1: 29 bytes under [0-9a-f-]{36}$/m,
  },
  's3-storage.ts': {
    files: ['scan.pdf'],
    s3Bucket: 'files',
    prints: /^[0-9a-f-]{36} \(SHA-256 [0-9a-f]{64}\): read 29 bytes; \S*files\/app/m,
  },
  's3-presigned.ts': {
    s3Bucket: 'files',
    prints: /^upload 204: \d+ bytes of image\/png under [0-9a-f-]{36}$/m,
  },
  'storage-on-its-own.ts': {
    files: ['scan.pdf'],
    prints: /^wrote 29 bytes \(SHA-256 [0-9a-f]{64}\) under \S+; read back 29$/m,
  },
  'fs-storage.ts': { files: ['scan.pdf'], prints: /\/files\/[0-9a-f]{2}\/[0-9a-f]{2}\/\S+\.pdf$/m },
  'typeorm-content-rules.ts': {
    files: ['scan.pdf'],
    prints: /^Scan\.data: accept \(image\/png\)\n1 scan saved$/m,
  },
  'nestjs-module.ts': { prints: /^206 bytes 7-12\/13 ranges\n304$/m },
  'key-generators.ts': { prints: /^File\/data\/[0-9a-f-]{36}\n\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}$/m },
  'http-node.ts': { files: ['scan.pdf'], prints: /^206 bytes 0-7\/29 %PDF-1\.7$/m },
  'http-express.ts': { prints: /^200 "[0-9a-f]{64}" hello$/m },
  'http-fastify.ts': { prints: /^304$/m },
  'http-signed-urls.ts': { prints: /^200 attachment; filename=minutes\.pdf 403$/m },
}

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs an example with tsx (the root tsconfig: legacy decorators), in `cwd`, bounded. */
function runExample(file: string, cwd: string, env: Record<string, string>): Promise<Ran> {
  const child = spawn(
    process.execPath,
    ['--conditions=@attrstore/source', '--import', import.meta.resolve('tsx'), file],
    {
      cwd,
      env: { ...process.env, ...env, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS - 5_000)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('the README examples run', () => {
  let s3: TestS3 | undefined
  let s3Unavailable: string | undefined
  const directories: string[] = []
  beforeAll(async () => {
    s3 = await startS3().catch((error: Error) => {
      s3Unavailable = `S3 is unavailable here: ${error.message}`
      console.warn(`SKIPPED (README examples using S3): ${s3Unavailable}`)
      return undefined
    })
  })
  afterAll(async () => {
    await s3?.stop()
    for (const directory of directories) await rm(directory, { recursive: true, force: true })
  })

  it('every example block has a run here', () => {
    const files = [...new Set(EXAMPLE_BLOCKS.map((block) => path.basename(block.file)))]
    expect(files.sort()).toEqual(Object.keys(RUNS).sort())
  })

  for (const [name, run] of Object.entries(RUNS)) {
    it(
      name,
      async (context) => {
        if (run.s3Bucket && !s3) return context.skip(s3Unavailable)
        const cwd = await mkdtemp(path.join(tmpdir(), 'attrstore-readme-'))
        directories.push(cwd)
        for (const file of run.files ?? [])
          await writeFile(path.join(cwd, file), `%PDF-1.7 ${file.padEnd(20, '.')}`.slice(0, 29))
        if (run.s3Bucket) await s3!.createBucket(run.s3Bucket)
        const ran = await runExample(path.join(ROOT, EXAMPLES, name), cwd, {
          ...(run.s3Bucket ? (s3!.env as Record<string, string>) : {}),
        })
        expect(ran.stderr).toBe('')
        expect(ran.code).toBe(0)
        expect(ran.stdout).toMatch(run.prints)
      },
      TIMEOUT_MS,
    )
  }
})
