# One image per service, built from the workspace: docker build --build-arg SERVICE=ingest -t pulsegate-ingest .
# TypeScript runs through tsx, so there is no separate build stage to keep in sync.
FROM node:20-bookworm-slim
ARG SERVICE=ingest
ENV NODE_ENV=production SERVICE=${SERVICE} HOST=0.0.0.0 TURBO_TELEMETRY_DISABLED=1
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
COPY apps ./apps
RUN npm ci --no-audit --no-fund --omit=dev --ignore-scripts && npm install --no-save --no-audit --no-fund tsx@4.23.15
USER node
CMD ["sh", "-c", "exec npx tsx services/${SERVICE}/src/main.ts"]
