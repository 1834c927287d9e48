/**
 * The one spelling of each parameter of a signed URL, as its signer writes it. A repeated
 * parameter (which value would a proxy in front check?) or a number written otherwise
 * (`1e3`, `0012`) is no signed URL: a signature must verify for one URL only.
 */

/** The parameter's value; `undefined` when absent; `null` when it is repeated. */
export function singleParameter(query: URLSearchParams, name: string): string | undefined | null {
  const values = query.getAll(name)
  return values.length <= 1 ? values[0] : null
}

/** Whether `text` is a whole number as `String(number)` writes it (no sign, no leading zero). */
export function isCanonicalWholeNumber(text: string | undefined | null): text is string {
  return typeof text === 'string' && /^(0|[1-9]\d{0,15})$/.test(text)
}
