import { parse as parseRangeHeader } from 'range-parser'

/** What a request's `Range` header asks of a representation of a known size. */
export type RangeRequest =
  /** No usable range (none, another unit, several ranges, malformed): send it whole, 200. */
  | { kind: 'whole' }
  /** One satisfiable range, inclusive bounds: 206 with `Content-Range`. */
  | { kind: 'partial'; start: number; end: number }
  /** Nothing in the range lies inside the representation: 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' }

/**
 * Reads a `Range` header against a representation of `size` bytes, as RFC 9110 §14 lets a
 * server: one byte range is honoured; a header it cannot use (another unit, a malformed
 * value, several ranges, which neither S3 nor most object stores serve as
 * `multipart/byteranges`) is ignored and the whole representation sent.
 *
 * Parsing is `range-parser`'s (the parser Express and `send` use): suffix ranges
 * (`bytes=-500`), open ends (`bytes=9500-`) and ends past the size (clamped) included.
 */
export function readRangeRequest(header: string | undefined, size: number): RangeRequest {
  if (header === undefined || header === '') return { kind: 'whole' }
  // range-parser throws on sizes that are no safe integer; a storage never reports one.
  const parsed = parseRangeHeader(size, header)
  if (parsed.type !== 'bytes' || parsed.code & 1) return { kind: 'whole' }
  // An empty representation has no byte to serve; a range on it is not an error a
  // client (which may send `Range` on every request) should see: send it whole (empty).
  if (size === 0) return { kind: 'whole' }
  if (parsed.ranges.length === 0) return { kind: 'unsatisfiable' }
  if (parsed.ranges.length > 1) return { kind: 'whole' }
  const [range] = parsed.ranges
  return { kind: 'partial', start: range!.start, end: range!.end }
}

/** The `Content-Range` value of a partial response. */
export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`
}

/** The `Content-Range` value of a 416 response. */
export function unsatisfiedContentRange(size: number): string {
  return `bytes */${size}`
}
