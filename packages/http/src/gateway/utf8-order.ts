/**
 * Compares two strings in the order of their UTF-8 bytes, the order of S3 listings,
 * without encoding them. UTF-8 byte order is code point order; JavaScript's `<` compares
 * UTF-16 code units, which differs only where a surrogate (a code point above U+FFFF)
 * meets a code unit of U+E000..U+FFFF: surrogates are moved above those.
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return lift(x) - lift(y)
  }
  return a.length - b.length
}

function lift(unit: number): number {
  if (unit < 0xd800) return unit
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800
}
