# syntax=docker/dockerfile:1
#
# resend-worker images. Needs BuildKit (the default builder since Docker 23).
#
#   docker build -t resend-worker:dev \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) .
#   docker build --target cognito-emulator -t resend-worker-cognito-emulator:dev .
#
# Targets:
#   worker            (default, last stage) the worker on distroless/static, non-root
#   worker-debug      the same binary on distroless/static:debug-nonroot (busybox
#                     shell at /busybox/sh), used by the compose enqueue-demo service
#   cognito-emulator  the local Cognito stand-in (never deploy it)

# Exactly the version go.mod requires (`go 1.26.8`): the image sets
# GOTOOLCHAIN=local, so an older 1.26.x would refuse to build the module.
# deploy/tools/dockerfile-check keeps the two equal.
ARG GO_VERSION=1.26.8
ARG DISTROLESS=gcr.io/distroless/static-debian12

# ---------------------------------------------------------------- build stages
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build-base
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .

FROM build-base AS build-worker
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH CGO_ENABLED=0 \
    go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/worker ./cmd/worker

FROM build-base AS build-emulator
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH CGO_ENABLED=0 \
    go build -trimpath -ldflags "-s -w" \
      -o /out/cognito-emulator ./cmd/cognito-emulator

# ------------------------------------------------------ Cognito stand-in image
FROM ${DISTROLESS}:nonroot AS cognito-emulator
COPY --from=build-emulator /out/cognito-emulator /cognito-emulator
ENV EMU_ADDR=:9229
EXPOSE 9229
USER nonroot:nonroot
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
    CMD ["/cognito-emulator", "-healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/cognito-emulator"]

# ------------------------------------- worker with a busybox shell (ops, demo)
FROM ${DISTROLESS}:debug-nonroot AS worker-debug
COPY --from=build-worker /out/worker /worker
EXPOSE 9090
USER nonroot:nonroot
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/worker", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/worker"]
CMD ["run"]

# ------------------------------------------------- worker (default, deployed)
FROM ${DISTROLESS}:nonroot AS worker
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="resend-worker" \
      org.opencontainers.image.description="Drains an SQS queue of Cognito ResendConfirmationCode jobs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build-worker /out/worker /worker
# Admin HTTP (ADMIN_ADDR): /metrics, /healthz, /readyz.
EXPOSE 9090
USER nonroot:nonroot
# `worker healthcheck` GETs the running worker's ADMIN_ADDR /healthz: keep
# ADMIN_ADDR set (default :9090) or this check can only fail.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/worker", "healthcheck"]
# The worker drains in-flight jobs within SHUTDOWN_TIMEOUT (20s) after SIGTERM:
# give it longer than that before SIGKILL (docker stop -t, compose
# stop_grace_period, ECS stopTimeout).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/worker"]
CMD ["run"]
