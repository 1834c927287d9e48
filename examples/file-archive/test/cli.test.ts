/**
 * The file-archive CLI, run as a child process as a user would run it, on the embedded
 * default (SQLite + in-process S3 under a temporary ARCHIVE_DIR): the main job end to end,
 * bad input (one line, non-zero exit, archive consistent), and the tour.
 */
import { spawn } from 'node:child_process'
import { statSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Variables that would point the archive somewhere else than the embedded default. */
const FOREIGN = [
  'DATABASE_URL',
  'AWS_S3_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'ARCHIVE_STORAGE',
  'ARCHIVE_BUCKET',
  'ARCHIVE_PREFIX',
  'INIT_CWD',
]

function cli(
  args: string[],
  options: { env?: Record<string, string>; uid?: number } = {},
): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const name of FOREIGN) delete env[name]
  Object.assign(env, options.env)
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@attrstore/source',
        path.join(PACKAGE_DIR, 'src', 'main.ts'),
        ...args,
      ],
      {
        cwd: PACKAGE_DIR,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        uid: options.uid,
        gid: options.uid,
      },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '')
}

/** A refusal: exactly one line on stderr, a non-zero exit, nothing on stdout. */
function expectOneLineFailure(run: Run, pattern: RegExp): void {
  expect(run.code, run.stderr).not.toBe(0)
  expect(lines(run.stderr), run.stderr).toHaveLength(1)
  expect(run.stderr).toMatch(/^archive: /)
  expect(run.stderr).toMatch(pattern)
  expect(run.stdout).toBe('')
}

interface Listed {
  name: string
  size: number
  sha256: string
}

interface Check {
  rows: number
  objects: number
  missing: string[]
  mismatched: string[]
  orphans: string[]
  consistent: boolean
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

describe('file-archive CLI on the embedded default', () => {
  let work: string
  let samples: string
  let env: Record<string, string>

  const run = (...args: string[]): Promise<Run> => cli(['-q', ...args], { env })
  const list = async (): Promise<Listed[]> => {
    const result = await run('list', '--json')
    expect(result.code, result.stderr).toBe(0)
    return JSON.parse(result.stdout) as Listed[]
  }
  const check = async (deep = false): Promise<Check> => {
    const result = await run('check', '--json', ...(deep ? ['--deep'] : []))
    return JSON.parse(result.stdout) as Check
  }
  const expectConsistent = async (rows: number): Promise<void> => {
    const report = await check(true)
    expect(report).toMatchObject({
      rows,
      objects: rows,
      missing: [],
      mismatched: [],
      orphans: [],
      consistent: true,
    })
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'file-archive-test-'))
    samples = path.join(work, 'samples')
    await mkdir(path.join(samples, 'docs', 'deep'), { recursive: true })
    await writeFile(path.join(samples, 'hello.txt'), 'hello, archive\n')
    await writeFile(path.join(samples, 'hello-v2.txt'), 'hello again, archive: second version\n')
    await writeFile(path.join(samples, 'docs', 'a.md'), '# A\n')
    await writeFile(path.join(samples, 'docs', 'deep', 'b.json'), '{"b":1}\n')
    // Large enough for several multipart parts and a progress bar.
    await writeFile(path.join(samples, 'big.bin'), randomBytes(20 * 1024 * 1024 + 123))
    env = { ARCHIVE_DIR: path.join(work, 'archive') }
  })

  afterAll(async () => {
    await rm(work, { recursive: true, force: true })
  })

  it('says which database and storage it uses', async () => {
    const result = await cli(['list'], { env })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/database: SQLite file .*archive\.sqlite/)
    expect(result.stderr).toMatch(
      /storage: in-process S3 server \(fauxqs\) at http:\/\/127\.0\.0\.1:\d+, bucket file-archive/,
    )
    expect(result.stdout).toContain('the archive is empty')
  })

  it('imports a file and a directory, lists, shows and exports them intact', async () => {
    const single = await run('import', path.join(samples, 'hello.txt'))
    expect(single.code, single.stderr).toBe(0)
    expect(single.stdout).toMatch(/^imported hello\.txt \(15 B, text\/plain\) as #1 -> object \S+/)

    const directory = await run('import', path.join(samples, 'docs'), path.join(samples, 'big.bin'))
    expect(directory.code, directory.stderr).toBe(0)
    // The progress bar goes to stderr, so stdout stays clean.
    expect(directory.stderr).toMatch(/uploading big\.bin \[#+\] 100%/)

    const files = await list()
    expect(files.map((file) => file.name)).toEqual([
      'big.bin',
      'docs/a.md',
      'docs/deep/b.json',
      'hello.txt',
    ])
    expect(files.find((file) => file.name === 'big.bin')?.size).toBe(20 * 1024 * 1024 + 123)

    const shown = await run('show', 'docs/deep/b.json', '--json')
    expect(shown.code, shown.stderr).toBe(0)
    const detail = JSON.parse(shown.stdout) as {
      key: string
      mediaType: string
      object: { size: number; sha256?: string }
    }
    expect(detail.mediaType).toBe('application/json')
    expect(detail.object.size).toBe(8)

    const out = path.join(work, 'out')
    await mkdir(out)
    const exported = await run('export', 'big.bin', out)
    expect(exported.code, exported.stderr).toBe(0)
    expect(
      Buffer.compare(
        await readFile(path.join(out, 'big.bin')),
        await readFile(path.join(samples, 'big.bin')),
      ),
    ).toBe(0)

    await expectConsistent(4)
  })

  it('replaces content under a new key and deletes the old object; removes files and their objects', async () => {
    const before = JSON.parse((await run('show', 'hello.txt', '--json')).stdout) as { key: string }
    const replaced = await run('replace', 'hello.txt', path.join(samples, 'hello-v2.txt'))
    expect(replaced.code, replaced.stderr).toBe(0)
    const after = JSON.parse((await run('show', 'hello.txt', '--json')).stdout) as {
      key: string
      size: number
    }
    expect(after.key).not.toBe(before.key)
    expect(after.size).toBe(37)
    await expectConsistent(4) // the old object is gone: no orphan

    const removed = await run('remove', 'docs/a.md')
    expect(removed.code, removed.stderr).toBe(0)
    expect((await list()).map((file) => file.name)).toEqual([
      'big.bin',
      'docs/deep/b.json',
      'hello.txt',
    ])
    await expectConsistent(3)
  })

  describe('bad input: one line, non-zero exit, archive unchanged', () => {
    it('a missing file', async () => {
      const before = await list()
      expectOneLineFailure(
        await run('import', path.join(samples, 'nope.txt')),
        /nope\.txt: no such file or directory/,
      )
      // A directory import that names a missing file imports nothing at all.
      expectOneLineFailure(
        await run('import', path.join(samples, 'hello-v2.txt'), path.join(samples, 'missing')),
        /missing: no such file or directory/,
      )
      expect(await list()).toEqual(before)
      await expectConsistent(before.length)
    })

    it('a name that is already in the archive', async () => {
      const before = await list()
      const result = await run('import', path.join(samples, 'hello-v2.txt'), '--name', 'hello.txt')
      expectOneLineFailure(result, /already in the archive: hello\.txt/)
      expect(await list()).toEqual(before)
      await expectConsistent(before.length)
    })

    it('a file that is not in the archive', async () => {
      expectOneLineFailure(await run('show', 'ghost.txt'), /no file named "ghost\.txt"/)
      expectOneLineFailure(await run('remove', 'ghost.txt'), /no file named "ghost\.txt"/)
      expectOneLineFailure(await run('export', 'ghost.txt'), /no file named "ghost\.txt"/)
    })

    it('an export that would overwrite a file', async () => {
      const target = path.join(work, 'exists.txt')
      await writeFile(target, 'mine')
      expectOneLineFailure(await run('export', 'hello.txt', target), /already exists/)
      expect(await readFile(target, 'utf8')).toBe('mine')
    })

    it('a usage error', async () => {
      const result = await run('frobnicate')
      expectOneLineFailure(result, /unknown command "frobnicate"/)
      expect(result.code).toBe(2)
    })

    it('an unreachable storage', async () => {
      const before = await list()
      const port = await freePort() // nothing listens there any more
      const result = await cli(
        ['-q', 'import', path.join(samples, 'hello-v2.txt'), '--name', 'unreachable.txt'],
        {
          env: {
            ...env,
            AWS_S3_ENDPOINT_URL: `http://127.0.0.1:${port}`,
            AWS_ACCESS_KEY_ID: 'nobody',
            AWS_SECRET_ACCESS_KEY: 'nothing',
          },
        },
      )
      expectOneLineFailure(result, /unreachable/)
      expect(result.code).toBe(3)
      expect(await list()).toEqual(before) // same SQLite file: no row was written
      await expectConsistent(before.length)
    })

    it('an unreachable database', async () => {
      const port = await freePort()
      const result = await cli(['-q', 'list'], {
        env: { ...env, DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/archive` },
      })
      expectOneLineFailure(result, /unreachable/)
    })

    // Root reads any directory: run the CLI as an unprivileged user then, which must reach
    // the Node binary and this package (not under a 0700 home or temporary directory).
    const asRoot = process.getuid?.() === 0
    const unreachable = asRoot
      ? (
          [
            [process.execPath, 0o001],
            [path.join(PACKAGE_DIR, 'src', 'main.ts'), 0o004],
          ] as const
        ).find(([file, permission]) => !reachableByOthers(file, permission))?.[0]
      : undefined
    if (unreachable) {
      console.warn(
        `[skip] file-archive unreadable-directory case: ${unreachable} cannot be reached by other users (a directory above it is not searchable), so the CLI cannot run as one`,
      )
    }
    it.skipIf(process.platform === 'win32' || unreachable !== undefined)(
      `a directory without read permission${unreachable ? ` (skipped: ${unreachable} is unreachable by other users)` : ''}`,
      async () => {
        const own = path.join(work, 'unreadable-case')
        await mkdir(path.join(own, 'photos', 'private'), { recursive: true })
        await writeFile(path.join(own, 'photos', 'ok.txt'), 'fine\n')
        await writeFile(path.join(own, 'photos', 'private', 'secret.txt'), 'secret\n')
        await chmod(path.join(own, 'photos', 'private'), 0o000)
        const archiveDir = path.join(own, 'archive')
        await mkdir(archiveDir)
        await chmod(work, 0o755) // mkdtemp's 0700 would lock the unprivileged user out
        await chmod(own, 0o777)
        await chmod(archiveDir, 0o777)
        try {
          const options = { env: { ARCHIVE_DIR: archiveDir }, ...(asRoot ? { uid: 65534 } : {}) }
          const result = await cli(['-q', 'import', path.join(own, 'photos')], options)
          expectOneLineFailure(result, /cannot read directory .*private: permission denied/)
          // Nothing was imported, not even the readable file.
          const listed = await cli(['-q', 'list', '--json'], options)
          expect(listed.code, listed.stderr).toBe(0)
          expect(JSON.parse(listed.stdout)).toEqual([])
        } finally {
          await chmod(path.join(own, 'photos', 'private'), 0o755)
        }
      },
    )
  })

  it('the tour runs end to end and leaves a consistent archive', async () => {
    const result = await cli(['tour'], { env: { TOUR_LARGE_MIB: '12' } })
    expect(result.code, result.stderr).toBe(0)
    const out = result.stdout
    for (const expected of [
      /database: SQLite file .*archive\.sqlite/,
      /storage: in-process S3 server \(fauxqs\)/,
      /database: \+ row #1 notes\.txt .* data = \S+/,
      /bucket: {3}\+ \S+ \(1\.1 KiB\)/,
      /video\.mp4: identical to the original/,
      /database: ~ row #1 notes\.txt {2}data = (\S+) {2}-> {2}\S+/,
      /refused: import: already in the archive: notes\.txt/,
      /transaction rolled back: simulated failure after the upload/,
      /database: - row #4 photos\/city\.jpg/,
      /consistent: every row has its object/,
      // The growth over the baseline, not the process's all-time peak; and whose memory it is.
      /memory: the import grew this process's RSS by \S+ \S+ \(from \S+ \S+ before it to a peak of \S+ \S+\); the S3 server \(fauxqs\) runs in this same process/,
    ]) {
      expect(out).toMatch(expected)
    }
    // The rollback step: the object existed inside the transaction, not after it.
    expect(out).toMatch(/inside the transaction: row #6 inserted, object \S+ in the bucket: yes/)
    expect(out).toMatch(/in the bucket after the rollback: no\n {2}database and bucket: unchanged/)
    expect(result.stderr).toMatch(/uploading video\.mp4 \[#+\] 100%/)
  })
})

/** Whether other users have `permission` (0o001 run, 0o004 read) on `file` and can search every directory on the way. */
function reachableByOthers(file: string, permission: number): boolean {
  let current = path.resolve(file)
  if ((statSync(current).mode & permission) === 0) return false
  while (current !== path.dirname(current)) {
    current = path.dirname(current)
    if ((statSync(current).mode & 0o001) === 0) return false
  }
  return true
}
