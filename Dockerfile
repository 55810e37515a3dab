# imagebatch worker / simulator image on Node 24 (Active LTS). Debian-based: the Temporal SDK's native module has no musl build.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
ENV NODE_ENV=production
ENTRYPOINT ["node", "bin/imagebatch.js"]
CMD ["worker"]
