import { MemoryStorage, type AttributeStorage } from '@attrstore/core'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { describe, expect, it } from 'vitest'
import { main, ProgressDisplay, type Binding, type CliIo } from '../src/index.js'
import { groupByStorage } from '../src/bindings.js'
import { formatDuration, parseDuration } from '../src/format.js'

function fakeIo(): CliIo & { output(): string; errors(): string } {
  let stdout = ''
  let stderr = ''
  return {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    output: () => stdout,
    errors: () => stderr,
  }
}

describe('the command line', () => {
  it('prints help, and refuses unknown commands, unknown options and contradictions with status 2', async () => {
    const help = fakeIo()
    expect(await main(['--help'], help)).toBe(0)
    expect(help.output()).toContain('Usage: attrstore <command> -d <data-source>')
    const gcHelp = fakeIo()
    expect(await main(['gc', '--help'], gcHelp)).toBe(0)
    expect(gcHelp.output()).toContain('--grace <duration>')

    const unknown = fakeIo()
    expect(await main(['collect'], unknown)).toBe(2)
    expect(unknown.errors()).toContain('unknown command "collect"')
    const badOption = fakeIo()
    expect(await main(['gc', '--force'], badOption)).toBe(2)
    expect(badOption.errors()).toMatch(/Unknown option '--force'/)
    const noDataSource = fakeIo()
    expect(await main(['verify'], noDataSource)).toBe(2)
    expect(noDataSource.errors()).toContain('--data-source <file> is required')
    const both = fakeIo()
    expect(await main(['gc', '-d', 'x.ts', '--delete', '--dry-run'], both)).toBe(2)
    expect(both.errors()).toContain('contradict')
  })

  it('parses durations', () => {
    expect(parseDuration('24h')).toBe(86_400_000)
    expect(parseDuration('90m')).toBe(5_400_000)
    expect(parseDuration('0')).toBe(0)
    expect(parseDuration('30')).toBe(30_000)
    expect(parseDuration('500ms')).toBe(500)
    expect([86_400_000, 5_400_000, 3_723_000, 90_000, 4_200, 0].map(formatDuration)).toEqual([
      '24h',
      '1h30m',
      '1h02m03s',
      '1m30s',
      '4.2s',
      '0s',
    ])
    expect(() => parseDuration('soon')).toThrow(/Invalid duration/)
  })
})

describe('groupByStorage', () => {
  const binding = (name: string, storage: AttributeStorage) =>
    ({ metadata: { name }, column: { propertyPath: 'data' }, storage }) as unknown as Binding

  it('puts storages with the same location in one group, and refuses nested locations', () => {
    const a = new BytesFileSystemStorage({ root: '/srv/files' })
    const sameAsA = new BytesFileSystemStorage({ root: '/srv/files/' })
    const memory = new MemoryStorage()
    const groups = groupByStorage([binding('A', a), binding('B', sameAsA), binding('C', memory)])
    expect(groups.map((group) => group.users.map((user) => user.metadata.name))).toEqual([
      ['A', 'B'],
      ['C'],
    ])
    expect(groups[0]!.storages).toEqual([a, sameAsA])
    const nested = new BytesFileSystemStorage({ root: '/srv/files/thumbnails' })
    expect(() => groupByStorage([binding('A', a), binding('D', nested)])).toThrow(
      /Storage locations nest/,
    )
    const sibling = new BytesFileSystemStorage({ root: '/srv/files-old' })
    expect(groupByStorage([binding('A', a), binding('E', sibling)])).toHaveLength(2)
  })
})

describe('ProgressDisplay', () => {
  it('draws a bar with percentage, rate and ETA on a terminal', () => {
    let written = ''
    let now = 0
    const display = new ProgressDisplay({
      stream: { write: (s: string) => (written += s), columns: 100 },
      tty: true,
      now: () => now,
    })
    display.update({ task: 'migrate Document.body', unit: 'rows', done: 0, total: 1000 })
    now = 2000
    display.update({ task: 'migrate Document.body', unit: 'rows', done: 500, total: 1000 })
    expect(written).toContain('\r')
    expect(written).toMatch(
      /migrate Document\.body \[#{10,}-{10,}\] {2}50\.0% 500\/1,000 rows 250\/s ETA 2\.0s/,
    )
    now = 4000
    display.update({
      task: 'migrate Document.body',
      unit: 'rows',
      done: 1000,
      total: 1000,
      finished: true,
    })
    expect(written).toMatch(/migrate Document\.body: 1,000 rows in 4\.0s \(250 rows\/s\)\n$/)
  })

  it('prints plain lines at an interval without a terminal', () => {
    const lines: string[] = []
    let now = 0
    const display = new ProgressDisplay({
      stream: { write: (s: string) => lines.push(s) },
      tty: false,
      intervalMs: 10_000,
      now: () => now,
    })
    for (let done = 0; done <= 300; done += 10) {
      now = done * 100
      display.update({ task: 'verify Document.body', unit: 'rows', done, total: 300 })
    }
    expect(lines.every((line) => !line.includes('\r'))).toBe(true)
    expect(lines).toEqual([
      'verify Document.body: 100/300 rows (33.3%), 10 rows/s, ETA 20s\n',
      'verify Document.body: 200/300 rows (66.7%), 10 rows/s, ETA 10s\n',
      'verify Document.body: 300/300 rows (100.0%), 10 rows/s\n',
    ])
  })
})
