#!/usr/bin/env node
// The `kerf` command: loads the TypeScript CLI through tsx, so no build step stands between an edit and a run.
import { register } from 'tsx/esm/api';

register();
await import('./cli/main.ts');
