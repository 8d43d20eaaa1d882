// Copies the web console (ui/) and the browser builds of the libraries
// it uses (uPlot for the charts, fflate to zip a dropped folder) into
// dist/ui/, so the service and its image serve them without node_modules
// or a CDN.
import { cpSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const target = path.join(here, '..', 'dist', 'ui');
const require = createRequire(import.meta.url);
const packageDir = (name) => path.dirname(require.resolve(`${name}/package.json`));

mkdirSync(path.join(target, 'vendor'), { recursive: true });
cpSync(path.join(here, '..', 'ui'), target, { recursive: true });
cpSync(path.join(packageDir('uplot'), 'dist', 'uPlot.iife.min.js'), path.join(target, 'vendor', 'uplot.js'));
cpSync(path.join(packageDir('uplot'), 'dist', 'uPlot.min.css'), path.join(target, 'vendor', 'uplot.css'));
cpSync(path.join(packageDir('fflate'), 'umd', 'index.js'), path.join(target, 'vendor', 'fflate.js'));
