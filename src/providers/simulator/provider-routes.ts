// The wire formats spoken besides Volcengine and DashScope, each in its own file; the server tries them in turn and
// each answers only its own paths.
import { routeComfyui } from './comfyui-routes';
import { routeFal } from './fal-routes';
import { routeOpenaiBatch } from './openai-batch-routes';
import { routeOpenai } from './openai-routes';
import type { Route } from './wire';

const ROUTES: Route[] = [routeFal, routeOpenai, routeOpenaiBatch, routeComfyui];

/** True when one of them took the request. */
export const routeProviders: Route = async (sim, req, res, url, body) => {
  for (const route of ROUTES) if (await route(sim, req, res, url, body)) return true;
  return false;
};
