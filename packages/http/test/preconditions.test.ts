import { describe, expect, it } from 'vitest'
import {
  entityTagOf,
  evaluatePreconditions,
  rangeStillValid,
  readRangeRequest,
} from '../src/index.js'

const etag = entityTagOf('ab'.repeat(32))
const lastModified = new Date('2026-11-30T10:00:00.750Z')
const validators = { etag, lastModified }
const at = (iso: string) => new Date(iso).toUTCString()

describe('readRangeRequest', () => {
  it('honours one range, clamps its end, and reads suffix and open ranges', () => {
    expect(readRangeRequest('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 })
    expect(readRangeRequest('bytes=90-500', 100)).toEqual({ kind: 'partial', start: 90, end: 99 })
    expect(readRangeRequest('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 })
    expect(readRangeRequest('bytes=95-', 100)).toEqual({ kind: 'partial', start: 95, end: 99 })
  })
  it('says unsatisfiable past the end, and ignores what it cannot use', () => {
    expect(readRangeRequest('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' })
    expect(readRangeRequest('bytes=0-1,5-6', 100)).toEqual({ kind: 'whole' })
    expect(readRangeRequest('items=0-1', 100)).toEqual({ kind: 'whole' })
    expect(readRangeRequest('bytes=9-2', 100)).toEqual({ kind: 'whole' })
    expect(readRangeRequest('bytes=0-', 0)).toEqual({ kind: 'whole' })
    expect(readRangeRequest(undefined, 100)).toEqual({ kind: 'whole' })
  })
})

describe('evaluatePreconditions (RFC 9110 §13.2.2)', () => {
  it('If-None-Match: 304 on GET/HEAD when a tag matches, weakly; 412 on other methods', () => {
    expect(evaluatePreconditions('GET', { 'if-none-match': `"x", W/${etag}` }, validators)).toBe(
      'not-modified',
    )
    expect(evaluatePreconditions('HEAD', { 'if-none-match': '*' }, validators)).toBe('not-modified')
    expect(evaluatePreconditions('GET', { 'if-none-match': '"other"' }, validators)).toBe('proceed')
    expect(evaluatePreconditions('DELETE', { 'if-none-match': etag }, validators)).toBe(
      'precondition-failed',
    )
  })
  it('If-Modified-Since at second precision, ignored when If-None-Match is present', () => {
    const same = { 'if-modified-since': at('2026-11-30T10:00:00Z') }
    expect(evaluatePreconditions('GET', same, validators)).toBe('not-modified')
    const before = { 'if-modified-since': at('2026-11-30T09:59:59Z') }
    expect(evaluatePreconditions('GET', before, validators)).toBe('proceed')
    expect(evaluatePreconditions('GET', { ...same, 'if-none-match': '"x"' }, validators)).toBe(
      'proceed',
    )
    expect(evaluatePreconditions('GET', { 'if-modified-since': 'yesterday' }, validators)).toBe(
      'proceed',
    )
  })
  it('If-Match compares strongly and comes first; If-Unmodified-Since only without it', () => {
    expect(evaluatePreconditions('GET', { 'if-match': etag }, validators)).toBe('proceed')
    expect(evaluatePreconditions('GET', { 'if-match': `W/${etag}` }, validators)).toBe(
      'precondition-failed',
    )
    expect(evaluatePreconditions('GET', { 'if-match': '*' }, {})).toBe('proceed')
    const unmodified = { 'if-unmodified-since': at('2026-11-30T09:00:00Z') }
    expect(evaluatePreconditions('GET', unmodified, validators)).toBe('precondition-failed')
    expect(evaluatePreconditions('GET', { ...unmodified, 'if-match': etag }, validators)).toBe(
      'proceed',
    )
    expect(
      evaluatePreconditions('GET', { 'if-match': etag, 'if-none-match': etag }, validators),
    ).toBe('not-modified')
  })
})

describe('rangeStillValid (If-Range)', () => {
  it('keeps the range for the same strong tag or the exact date, drops it otherwise', () => {
    expect(rangeStillValid(undefined, validators)).toBe(true)
    expect(rangeStillValid(etag, validators)).toBe(true)
    expect(rangeStillValid(`W/${etag}`, validators)).toBe(false)
    expect(rangeStillValid('"stale"', validators)).toBe(false)
    expect(rangeStillValid(at('2026-11-30T10:00:00Z'), validators)).toBe(true)
    expect(rangeStillValid(at('2026-11-30T09:00:00Z'), validators)).toBe(false)
    expect(rangeStillValid(etag, { lastModified })).toBe(false)
  })
})
