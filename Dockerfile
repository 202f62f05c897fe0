# One image per service:
#   docker build --build-arg WORKSPACE=services/ingest -t pulsegate/ingest .
#   docker build --build-arg WORKSPACE=apps/pulsegate -t pulsegate/dashboard .   (run: node dist/dashboard.js;
#     the same image runs the topic init job: node dist/topics.js)
# build: install everything and bundle the workspace's entry points into dist/ (esbuild, the same
# `npm run build`). deps: only that workspace's production dependencies (no tsx, TypeScript, test
# harness or other dev dependencies). runtime: node runs dist/main.js directly as PID 1; the service
# handles SIGTERM itself (ordered shutdown within SHUTDOWN_GRACE_MS), so no shell or npm sits between.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG WORKSPACE=services/ingest
WORKDIR /src
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY scripts ./scripts
COPY packages ./packages
COPY services ./services
COPY apps ./apps
RUN npm ci --no-audit --no-fund --ignore-scripts
# What the runtime needs of the workspace: the bundles, package.json and static files, if any.
RUN cd ${WORKSPACE} && npm run build \
  && mkdir -p /out && cp -r dist package.json /out/ && if [ -d public ]; then cp -r public /out/; fi

FROM ${NODE_IMAGE} AS deps
ARG WORKSPACE=services/ingest
WORKDIR /src
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/packages ./packages
COPY --from=build /src/services ./services
COPY --from=build /src/apps ./apps
# The workspace packages are compiled into the bundle: keep only third-party packages.
RUN npm ci --no-audit --no-fund --ignore-scripts --omit=dev --workspace=${WORKSPACE} --include-workspace-root=false \
  && rm -rf node_modules/@pulsegate node_modules/.bin

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /out ./
USER node
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
