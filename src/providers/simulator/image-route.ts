// GET /images/:task/0.png: a finished task's PNG, or, at the badImage rate, a broken download of a chosen kind.
import type { ServerResponse } from 'node:http';
import { renderPng } from './png';
import { send } from './replies';
import { type Simulation, taskPhase } from './simulation';

export function serveImage(sim: Simulation, res: ServerResponse, taskId: string): void {
  const t = sim.task(taskId);
  if (!t || taskPhase(t) !== 'finished') {
    sim.stats.request('image-404', t?.api);
    return send(res, 404, { error: 'no such image' });
  }
  const k = sim.knobs;
  if (k.badImage > 0 && sim.rnd() < k.badImage) {
    sim.stats.request(`bad-image-${k.badImageKind}`, t.api);
    // Rendered without sim.image(), so a broken download is not recorded as served.
    const png = renderPng(t.prompt, t.seed, t.width, t.height);
    switch (k.badImageKind) {
      case 'not-found':
        return send(res, 404, { error: 'gone' });
      case 'redirect-non-http':
        res.writeHead(302, { Location: `file:///etc/passwd` });
        res.end();
        return;
      case 'wrong-magic':
        res.writeHead(200, { 'Content-Type': 'image/png' });
        res.end(Buffer.concat([Buffer.from('<html>not an image</html>'), png]));
        return;
      case 'truncated':
        res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': String(png.length) });
        res.write(png.subarray(0, png.length >> 1));
        res.destroy();
        return;
      case 'oversize': {
        res.writeHead(200, { 'Content-Type': 'image/png' });
        res.end(Buffer.concat([png, Buffer.alloc(64 * 1024 * 1024)]));
        return;
      }
    }
  }
  sim.stats.request('image', t.api);
  res.writeHead(200, { 'Content-Type': 'image/png' });
  res.end(sim.image(t));
}
