# Multi-stage build of the `app` binary (see "Running with Docker" in README.md).
#
# The base images are build arguments whose defaults are the public images, so a
# registry mirror, a pinned digest, or the local stand-ins that
# scripts/offline-images.sh builds under these same names can be used without
# editing this file:
#   docker build --build-arg RUST_IMAGE=rust:1.85-bookworm .
# Only classic Dockerfile instructions are used, so the legacy builder and
# BuildKit both build it.
ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---------------------------------------------------------------------------
# Builder: the Rust toolchain (edition 2024 needs Rust >= 1.85) and gcc for
# rusqlite's bundled SQLite.
FROM ${RUST_IMAGE} AS builder
WORKDIR /build
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0

# 1. Dependencies only. Compiled against placeholder sources, so this layer is
#    reused until Cargo.toml or Cargo.lock change; editing src/ rebuilds only
#    the crate itself.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src

# 2. The crate. `touch` makes the real sources newer than the placeholders'
#    build records (COPY keeps the files' original times).
COPY src ./src
COPY migrations ./migrations
RUN find src -name '*.rs' -exec touch {} + \
 && cargo build --release --locked \
 && install -D -m 0755 target/release/app /out/usr/local/bin/app \
 && mkdir -p /out/data

# ---------------------------------------------------------------------------
# Runtime: glibc, libgcc and CA certificates, no shell, no package manager.
FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="webhook-receiver" \
      org.opencontainers.image.description="Exactly-once webhook receiver: HMAC-verified, stored in SQLite" \
      org.opencontainers.image.licenses="MIT"

COPY --from=builder /out/usr/local/bin/app /usr/local/bin/app
# The database directory belongs to the unprivileged user. A named volume
# mounted here starts as a copy of it, ownership included.
COPY --from=builder --chown=65532:65532 /out/data /data

# SQLite's temporary files (the sorts of large queries, spilled past its page
# cache) go to the data volume, beside the database, rather than to /tmp, which
# a hardened deployment makes a small tmpfs (16 MiB in docker-compose.yml) or
# leaves out. They are deleted as soon as they are opened, so nothing stays.
ENV DATABASE_URL=sqlite:////data/app.db \
    SQLITE_TMPDIR=/data \
    HOST=0.0.0.0 \
    PORT=8000

# 65532 is distroless's `nonroot`; numeric so that runAsNonRoot-style checks
# can verify it without reading /etc/passwd.
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000

# `app healthcheck` GETs /health/ready on 127.0.0.1:$PORT: exit 0 on 200, else 1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["app", "healthcheck"]

ENTRYPOINT ["app"]
CMD ["serve"]
