/**
 * The route table: routes are consulted in order and the first whose method and path match
 * answers. A route without a method answers every method (it checks itself).
 */

/** A request with what the server worked out about it before routing. */
export interface RouteRequest {
  req: Request;
  url: URL;
  /** The client's address (X-Forwarded-For from a trusted proxy, else the peer). */
  client: string;
}

export interface Route {
  method?: string;
  /** The exact path, or a test of it. */
  path: string | ((pathname: string) => boolean);
  handle(request: RouteRequest): Response | Promise<Response>;
}

/** The first route that matches, or null (404). */
export function findRoute(
  routes: readonly Route[],
  method: string,
  pathname: string,
): Route | null {
  for (const route of routes) {
    if (route.method !== undefined && route.method !== method) continue;
    const matches = typeof route.path === "string" ? route.path === pathname : route.path(pathname);
    if (matches) return route;
  }
  return null;
}
