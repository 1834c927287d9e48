import { readdir, readFile } from 'node:fs/promises'

/** A Ceph daemon seen in /proc: its pid and the `-c <dir>/ceph.conf` it was given. */
export interface CephProcess {
  pid: number
  command: string
  conf: string | undefined
}

/** The ceph-mon, ceph-osd and radosgw processes whose parent is `parent`. */
export async function cephDaemonsOf(parent: number): Promise<CephProcess[]> {
  const found: CephProcess[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '')
    if (!status.includes(`\nPPid:\t${parent}\n`)) continue
    const command = (await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '')).trim()
    if (!/^(ceph-mon|ceph-osd|radosgw)$/.test(command)) continue
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0')
    const at = argv.indexOf('-c')
    found.push({ pid: Number(entry), command, conf: at >= 0 ? argv[at + 1] : undefined })
  }
  return found
}

/** Whether `pid` runs (a zombie, dead but not yet reaped, does not). */
export async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  return stat !== undefined && !/\) [ZX] /.test(stat)
}

/** Polls `condition` every 100 ms for at most `timeoutMs`; returns its last answer. */
export async function eventually(
  condition: () => Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return true
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
