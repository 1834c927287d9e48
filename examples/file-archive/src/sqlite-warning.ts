/**
 * Node 22 marks `node:sqlite` (where fauxqs keeps its state) experimental and says so on
 * stderr when it is first loaded: a line that is not the archive's, before its own output
 * (its errors are one line). Node 24 no longer prints it.
 */
export async function withoutSqliteWarning<T>(load: () => Promise<T>): Promise<T> {
  const emitWarning = process.emitWarning
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const message = typeof warning === 'string' ? warning : warning.message
    if (message.startsWith('SQLite is an experimental feature')) return
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest)
  }) as typeof process.emitWarning
  try {
    return await load()
  } finally {
    process.emitWarning = emitWarning
  }
}
