# syntax=docker/dockerfile:1

# Build stage. It runs on the build machine's platform and cross-compiles, so a multi-arch
# build (docker buildx build --platform linux/amd64,linux/arm64) needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src

# Modules first, so source edits reuse the cached download layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .

# VERSION is stamped into the binary for `grantmirror version` and COMMIT into the image
# labels, e.g.
#   docker build --build-arg VERSION=$(git describe --tags) --build-arg COMMIT=$(git rev-parse HEAD) .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH=amd64

# CGO off gives a static binary for the distroless static image; -trimpath keeps build paths
# out of it so builds are reproducible.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/grantmirror/grantmirror/internal/cli.Version=${VERSION}" \
      -o /out/grantmirror ./cmd/grantmirror

# Final stage: no shell, no package manager, CA certificates and tzdata included, and the
# nonroot user (65532) the Helm chart's securityContext expects.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="grantmirror" \
      org.opencontainers.image.description="Mirror Snowflake grants into Postgres for row-level access checks" \
      org.opencontainers.image.source="https://github.com/grantmirror/grantmirror" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/grantmirror /grantmirror
USER 65532:65532
ENTRYPOINT ["/grantmirror"]
