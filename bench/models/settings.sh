# Shared by the models benchmarks: sourced with MONTHS and SCALE as $1 and $2, from the
# repository root. Sets months, scale, work (the cached data and warehouse) and bin (the
# release binary, built here).
months=${1:-30}
scale=${2:-1.0}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ansinh-target}"
work="${BENCH_DIR:-$HOME/.cache/ansinh-bench}/models-${months}m-${scale}"
bin="$CARGO_TARGET_DIR/release/ansinh"
export ANSINH_PSEUDONYM_KEY="benchmark-key-not-a-secret-0123456789"
cargo build --release --quiet
