# syntax=docker/dockerfile:1
# tokenmeter as a container image: `docker build -t tokenmeter .`, then `docker run --rm tokenmeter --help`.
# The build stage compiles and packs the npm package with the dev dependencies; the runtime stage holds
# Node, the packed package and its production dependencies only (no TypeScript, no bundled Chromium: the
# HTML report's charts are SVG rendered in Node). test/package/image.test.ts runs the runtime stage's
# install script on the packed tarball and then the Kubernetes Job's command, since no container runtime
# is at hand where the tests run. docs/scale-out.md shows the image in a cluster.
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` build needs the sources, copied below; no dev dependency's install
# script is needed to compile.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY bin bin
COPY schema schema
COPY scenarios scenarios
COPY docs docs
COPY examples examples
# dist/, then the tarball of what package.json's "files" ship (as the test packs it: built, then packed).
RUN npm run build && npm pack --ignore-scripts && mv tokenmeter-*.tgz tokenmeter.tgz

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
COPY deploy/install-package.sh /tmp/install-package.sh
COPY --from=build /build/tokenmeter.tgz /build/package-lock.json /tmp/
RUN sh /tmp/install-package.sh /tmp/tokenmeter.tgz /tmp/package-lock.json /opt/tokenmeter \
  && ln -s /opt/tokenmeter/bin/tokenmeter.js /usr/local/bin/tokenmeter \
  && rm /tmp/install-package.sh /tmp/tokenmeter.tgz /tmp/package-lock.json \
  && npm cache clean --force
# The base image's `node` user, by number so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
WORKDIR /home/node
ENTRYPOINT ["tokenmeter"]
CMD ["--help"]
