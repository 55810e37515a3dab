#!/usr/bin/env node
'use strict';
// The CLI is compiled by `npm run build` (also run by `npm ci` through `prepare`).
require('../lib/client/cli.js');
