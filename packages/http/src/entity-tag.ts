/**
 * The strong entity tag of content whose SHA-256 is `sha256` (hex): equal tags mean equal
 * bytes, whatever storage or copy serves them. A storage's own ETag is never used: on S3
 * multipart objects it is no content hash, and two storages give different ones for the
 * same bytes.
 */
export function entityTagOf(sha256: string): string {
  return `"${sha256.toLowerCase()}"`
}

/** The entity tags of an `If-Match` / `If-None-Match` value; `'*'` for the wildcard. */
export function parseEntityTags(header: string): '*' | { tag: string; weak: boolean }[] {
  if (header.trim() === '*') return '*'
  const tags: { tag: string; weak: boolean }[] = []
  // Entity tags are quoted strings that may hold commas: read them one by one, not split.
  const entityTag = /\s*(W\/)?("[^"]*")\s*(?:,|$)/gy
  let match: RegExpExecArray | null
  while ((match = entityTag.exec(header)) !== null && match[0] !== '') {
    tags.push({ tag: match[2]!, weak: match[1] !== undefined })
    if (entityTag.lastIndex >= header.length) break
  }
  return tags
}

/**
 * Whether an `If-Match` / `If-None-Match` / `If-Range` value names `current` under RFC 9110
 * §8.8.3.2's `strong` comparison (both strong, same opaque tag) or `weak` one (same
 * opaque tag, weak or not). `*` names any representation.
 */
export function entityTagMatches(
  header: string,
  current: string | undefined,
  comparison: 'strong' | 'weak',
): boolean {
  if (current === undefined) return false
  const tags = parseEntityTags(header)
  if (tags === '*') return true
  return tags.some(
    (candidate) => candidate.tag === current && (comparison === 'weak' || !candidate.weak),
  )
}
