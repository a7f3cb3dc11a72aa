# lockboxd and lockbox on Debian 12. Build: docker build -t lockbox .
FROM swift:6.3-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        libprotobuf-c-dev libpq-dev libcurl4-openssl-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN swift build -c release --product lockboxd && swift build -c release --product lockbox \
    && install -D .build/release/lockboxd /out/bin/lockboxd \
    && install -D .build/release/lockbox /out/bin/lockbox \
    && install -D scripts/tls-dev-certs /out/bin/tls-dev-certs \
    && mkdir -p /out/share/lockbox && cp -r migrations /out/share/lockbox/migrations

FROM swift:6.3-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libprotobuf-c1 libpq5 libcurl4 openssl ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 lockbox \
    && mkdir /tls && chown lockbox /tls
COPY --from=build /out/ /usr/local/
USER lockbox
ENV LOCKBOX_HOST=0.0.0.0 LOCKBOX_PORT=7443 LOCKBOX_MIGRATIONS_DIR=/usr/local/share/lockbox/migrations
EXPOSE 7443 9464
ENTRYPOINT ["lockboxd"]
CMD ["serve"]
