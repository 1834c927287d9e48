import { createRequire, register } from 'node:module'
import { parseTsconfig } from 'get-tsconfig'

/** Set once TypeScript hooks are registered in this process (also by our own test launcher). */
const TYPESCRIPT_REGISTERED = Symbol.for('attrstore.cli.tsx-registered')

/** Which compiler loads TypeScript data sources, and why. */
export type TypeScriptCompiler = 'swc' | 'tsx'

/**
 * The compiler for a tsconfig: SWC when it asks for `emitDecoratorMetadata` (tsx, built on
 * esbuild, drops decorator metadata, and TypeORM needs it to guess the type of
 * `@Column() name: string`), tsx otherwise (faster to start, no native binary).
 */
export function compilerFor(tsconfig: string | false): TypeScriptCompiler {
  if (tsconfig === false) return 'tsx'
  return parseTsconfig(tsconfig).compilerOptions?.emitDecoratorMetadata === true ? 'swc' : 'tsx'
}

/**
 * Registers the ESM and CommonJS hooks that compile TypeScript on import, once per process.
 * Returns the compiler in use, or undefined when hooks were registered by someone else.
 */
export async function registerTypeScript(
  tsconfig: string | false,
): Promise<TypeScriptCompiler | undefined> {
  const globals = globalThis as Record<symbol, unknown>
  if (globals[TYPESCRIPT_REGISTERED]) return undefined
  const compiler = compilerFor(tsconfig)
  if (compiler === 'swc') {
    // @swc-node/register reads the tsconfig (decorator options included) from the environment,
    // in this thread and in the thread of the module hooks alike.
    if (tsconfig !== false) process.env.SWC_NODE_PROJECT ??= tsconfig
    register('@swc-node/register/esm', import.meta.url)
    const require = createRequire(import.meta.url)
    ;(require('@swc-node/register/register') as { register(): unknown }).register()
  } else {
    // tsx's CommonJS hook reads the tsconfig path from the environment.
    if (tsconfig !== false) process.env.TSX_TSCONFIG_PATH ??= tsconfig
    const esm = await import('tsx/esm/api')
    esm.register({ tsconfig })
    const cjs = await import('tsx/cjs/api')
    cjs.register()
  }
  globals[TYPESCRIPT_REGISTERED] = true
  return compiler
}
