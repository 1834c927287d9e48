import { attrstorePackage } from '../../build/tsdown-package.ts'

export default attrstorePackage(import.meta.dirname)
