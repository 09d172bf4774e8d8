// The layering of ARCHITECTURE (README "Architecture"): each folder of src/ imports only the folders
// below it, other folders only through their index.ts, and nothing imports in a circle.
// Checked by `npm test` (npm run check:deps).

/** folder → the folders it may import (besides itself). */
const LAYERS = {
  util: [],
  esl: ['util'],
  conference: ['esl', 'util'],
  state: ['conference', 'esl', 'util'],
  config: ['conference', 'util'],
  storage: ['conference', 'util'],
  bus: ['state', 'conference', 'esl', 'util'],
  records: ['storage', 'state', 'conference', 'esl', 'util'],
  api: ['records', 'storage', 'state', 'conference', 'esl', 'util'],
  simulator: ['esl', 'util'],
  entry: ['records', 'state', 'conference', 'esl', 'util'],
  app: ['entry', 'api', 'records', 'bus', 'storage', 'state', 'conference', 'esl', 'config', 'util'],
  client: ['util'],
  demo: ['app', 'client', 'simulator', 'bus', 'config', 'util'],
  cli: ['app', 'demo', 'client', 'simulator', 'config', 'util'],
};
const FOLDERS = Object.keys(LAYERS);

const layerRules = FOLDERS.map((folder) => ({
  name: `layer-${folder}`,
  comment: `src/${folder}/ may import only ${LAYERS[folder].join(', ') || 'node built-ins and packages'}`,
  severity: 'error',
  from: { path: `^src/${folder}/` },
  to: {
    path: '^src/([^/]+)/',
    pathNot: [`^src/(${[folder, ...LAYERS[folder]].join('|')})/`],
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'only-through-index',
      comment: 'another folder of src/ is imported through its index.ts, never by reaching into its files',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/([^/]+)/', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$'] },
    },
    {
      name: 'no-unknown-folder',
      comment: 'every file of src/ lives in one of the known layers (or is the CLI entry point)',
      severity: 'error',
      from: { path: '^src/', pathNot: [`^src/(${FOLDERS.join('|')})/`, '^src/cli\\.ts$'] },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default', 'types'] },
  },
};
