/** The namespace of every S3 response document. */
export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/'

/**
 * Text escaped for an XML 1.0 element. The characters XML 1.0 cannot carry at all (most C0
 * controls, lone surrogates, U+FFFE/U+FFFF) are written as character references, as S3
 * writes them: strict parsers refuse them, which is why listings have `encoding-type=url`
 * (the aws CLI, boto3 and the SDKs always ask for it).
 */
export function escapeXml(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[&<>"'\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/gu,
    (character) => {
      switch (character) {
        case '&':
          return '&amp;'
        case '<':
          return '&lt;'
        case '>':
          return '&gt;'
        case '"':
          return '&quot;'
        case "'":
          return '&apos;'
        default:
          // A valid surrogate pair never matches here (the `u` flag reads it as one code point).
          return `&#x${character.codePointAt(0)!.toString(16).toUpperCase()};`
      }
    },
  )
}

/** A child of an {@link element}: an element already written, or nothing (skipped). */
export type XmlChild = string | undefined | false

/** `<name>text</name>`, the text escaped; nothing for an undefined value. */
export function text(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return ''
  return `<${name}>${escapeXml(String(value))}</${name}>`
}

/** `<name>children</name>`; the children are elements already written. */
export function element(name: string, children: XmlChild[]): string {
  return `<${name}>${children.filter(Boolean).join('')}</${name}>`
}

/**
 * A whole response document: the declaration and the root, in S3's namespace unless
 * `namespace` is false (S3's error documents have none).
 */
export function document(root: string, children: XmlChild[], namespace = true): string {
  const attribute = namespace ? ` xmlns="${S3_NAMESPACE}"` : ''
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<${root}${attribute}>${children.filter(Boolean).join('')}</${root}>`
  )
}

/** S3's timestamps in documents: ISO 8601 with milliseconds, UTC. */
export function isoDate(date: Date): string {
  return date.toISOString()
}
