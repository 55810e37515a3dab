// The gallery's HTML: one self-contained file (style, script and data inline; no external asset, no fetch), so it
// works from file:// with no server. Its Content-Security-Policy allows only its own script and style (by hash) and
// local images: markup that slipped into the page could neither run nor load anything.
import { createHash } from 'node:crypto';
import { GALLERY_SCRIPT } from './gallery-script';

const STYLE = `
:root { color-scheme: light dark; --fg: #1d1d1f; --muted: #6e6e73; --bg: #fafafa; --card: #fff; --line: #ddd;
  --ok: #1a7f37; --bad: #c62828; --warn: #b26a00; }
@media (prefers-color-scheme: dark) { :root { --fg: #eee; --muted: #aaa; --bg: #161616; --card: #222; --line: #3a3a3a; } }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; padding: 1rem 1.5rem; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
.counts { display: flex; flex-wrap: wrap; gap: .5rem; margin: 0 0 .5rem; }
.count { border: 1px solid var(--line); border-radius: 6px; padding: .25rem .75rem; background: var(--card); }
.count dt { font-size: .75rem; color: var(--muted); } .count dd { margin: 0; font-size: 1.2rem; font-weight: 600; }
.count.failed dd { color: var(--bad); } .count.succeeded dd { color: var(--ok); }
.times span { margin-right: 1rem; color: var(--muted); }
.note { color: var(--warn); margin: .25rem 0; }
#filters { display: flex; gap: .5rem; margin: .75rem 0; flex-wrap: wrap; }
button { font: inherit; padding: .3rem .8rem; border: 1px solid var(--line); border-radius: 6px; background: var(--card);
  color: var(--fg); cursor: pointer; }
button[aria-pressed="true"] { background: var(--fg); color: var(--bg); }
button:disabled { opacity: .4; cursor: default; }
.pager { display: flex; gap: .75rem; align-items: center; margin: .75rem 0; }
#grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 1rem; align-items: start; }
.item { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .5rem; min-width: 0; }
.item.failed { border-color: var(--bad); } .item.cancelled, .item.queued { border-style: dashed; }
.thumb { display: flex; align-items: center; justify-content: center; height: 220px; border-radius: 4px;
  background: var(--bg); overflow: hidden; }
.thumb img { width: 100%; height: 100%; object-fit: contain; }
.thumb.none { color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
.title { display: flex; flex-wrap: wrap; gap: .4rem; align-items: baseline; font-size: .95rem; margin: .4rem 0 .2rem; }
.title .id { font-weight: 600; word-break: break-all; }
.status { font-size: .75rem; color: var(--muted); }
.simplified-mark { font-size: .7rem; padding: 0 .4rem; border-radius: 4px; background: var(--warn); color: #fff; }
.prompt { margin: .2rem 0; white-space: pre-wrap; word-break: break-word; }
.meta, .tried, .label { margin: .2rem 0; color: var(--muted); font-size: .8rem; word-break: break-word; }
.reason { margin: .3rem 0; color: var(--bad); white-space: pre-wrap; word-break: break-word; }
.prompts { margin: .2rem 0; padding-left: 1.2rem; font-size: .8rem; word-break: break-word; }
.group { grid-column: 1 / -1; border: 1px solid var(--line); border-radius: 8px; padding: .5rem; }
.group-title { font-size: .95rem; margin: 0 0 .5rem; }
.variants { display: flex; gap: .75rem; overflow-x: auto; }
.variants .item { flex: 0 0 240px; }
.empty { color: var(--muted); }
`;

/** Characters that could end the data's <script> element or open a comment in it, as JSON escapes. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

const CSP = [
  "default-src 'none'",
  `script-src ${hash(GALLERY_SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  // Images sit beside the page: relative paths, from file:// or from a server that serves the folder.
  "img-src 'self' file: data: blob:",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** The whole page around `data` (any JSON value; the script expects GalleryData). */
export function galleryPage(data: unknown): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>imagebatch gallery</title>
<style>${STYLE}</style>
</head>
<body>
<header id="head"></header>
<nav id="filters" aria-label="filters"></nav>
<nav id="pager-top" class="pager" aria-label="pages"></nav>
<main id="grid"></main>
<nav id="pager-bottom" class="pager" aria-label="pages"></nav>
<noscript>This page needs JavaScript to show the images; manifest.json beside it lists them.</noscript>
<script type="application/json" id="gallery-data">${jsonForScript(data)}</script>
<script>${GALLERY_SCRIPT}</script>
</body>
</html>
`;
}
