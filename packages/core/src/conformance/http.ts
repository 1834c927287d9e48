/** What one HTTP exchange of the capability checks gave: a status and the whole body. */
export interface Fetched {
  status: number
  ok: boolean
  headers: Headers
  body: Buffer
}

/** Bound on every request the checks send: a server that never answers fails the test. */
const REQUEST_TIMEOUT_MS = 15_000

/** `fetch`, bounded in time, with the body read whole. */
export async function fetchWhole(url: string, init: RequestInit = {}): Promise<Fetched> {
  const response = await fetch(url, {
    ...init,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  })
  const body = Buffer.from(await response.arrayBuffer())
  return { status: response.status, ok: response.ok, headers: response.headers, body }
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms))
