import { attrstorePackage } from '../../build/tsdown-package.ts'

// `bin.ts` awaits at its top level: an ES module only, as `bin` runs it.
export default attrstorePackage(import.meta.dirname, { esmOnly: { bin: 'src/bin.ts' } })
