# wait_for SECONDS COMMAND... runs COMMAND every 0.1 s until it succeeds; fails after SECONDS.
# Scripts and tests wait for a condition with a bound, never for a fixed time.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
