#!/usr/bin/env node
// The `attrstore` command runs the built CLI. It is a file of its own, present before any
// build, so that `pnpm install` links the command in a fresh clone of the workspace too.
import '../dist/bin.js'
