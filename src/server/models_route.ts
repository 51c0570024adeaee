/**
 * `GET /v1/models` and `GET /v1/models/{id}` in the shape of OpenAI's API, listing the one model
 * this server serves, so clients that discover models before choosing one find it.
 */
import { apiError } from "./transcription_route.ts";
import type { Route } from "./routes.ts";
import type { ServedModel } from "./served_model.ts";

const PREFIX = "/v1/models";

function modelObject(model: ServedModel) {
  return { id: model.id, object: "model", created: model.created, owned_by: model.owner };
}

export function modelsRoute(model: ServedModel): Route {
  return {
    path: (p) => p === PREFIX || p.startsWith(`${PREFIX}/`),
    handle: ({ req, url }) => {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return apiError(405, "method_not_allowed", "Use GET", { allow: "GET, HEAD" });
      }
      if (url.pathname === PREFIX) {
        return Response.json({ object: "list", data: [modelObject(model)] });
      }
      // OpenAI model ids may hold a slash (fine-tunes, org/model): the id is the whole rest.
      const raw = url.pathname.slice(PREFIX.length + 1);
      let id: string;
      try {
        id = decodeURIComponent(raw);
      } catch {
        id = raw;
      }
      if (id !== model.id) {
        return apiError(
          404,
          "model_not_found",
          `The model "${id.slice(0, 200)}" does not exist; this server serves "${model.id}"`,
          {},
          "model",
        );
      }
      return Response.json(modelObject(model));
    },
  };
}
