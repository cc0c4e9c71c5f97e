#!/usr/bin/env bash
# rampartd refuses to start, with one clear line and a non-zero exit, when the config is broken
# (file:line), a port cannot be used, or a worker lcore does not exist; and --check accepts the
# shipped examples. Usage: rampartd_startup_test.sh RAMPARTD SOURCE_DIR
set -uo pipefail
rampartd=$1
source_dir=$2
dir=$(mktemp -d /tmp/rampart-startup.XXXXXX)
trap 'rm -rf "$dir"' EXIT
failures=0
example=$source_dir/config/examples/site-to-site-gateway1.conf

expect_refusal() {  # name config expected-stderr-pattern
  local out status
  out=$(timeout 30 "$rampartd" -c "$2" 2>&1)
  status=$?
  if [[ $status -eq 0 || $status -eq 124 ]] || ! grep -qE "$3" <<<"$out"; then
    echo "FAIL: $1: exit $status, output:"
    echo "$out" | tail -5
    failures=$((failures + 1))
  fi
}

for config in "$source_dir"/config/examples/*.conf "$source_dir/config/rampart.conf.example"; do
  "$rampartd" -c "$config" --check >/dev/null || { echo "FAIL: --check refused $config"; failures=$((failures + 1)); }
done

printf '%s\n' 'sas = ( { name = "a"; spi = 4096; direction = "outbound"; cipher = "aes-gcm-128";' \
  '  key = "000102030405060708090a0b0c0d0e0f01020304"; local = "198.51.100.1"; remote = "198.51.100.2"; },' \
  '  { name = "b"; spi = 4096; direction = "outbound"; cipher = "aes-gcm-128";' \
  '  key = "000102030405060708090a0b0c0d0e0f01020304"; local = "198.51.100.1"; remote = "198.51.100.2"; } );' \
  >"$dir/overlapping_spis.conf"
expect_refusal "overlapping SPIs" "$dir/overlapping_spis.conf" "overlapping_spis.conf:3: sas\[1\]\.spi: SPI 4096 is used by an earlier SA"

sed 's/sa = "to-peer"; }/sa = "no-such-sa"; }/' "$example" >"$dir/missing_sa.conf"
expect_refusal "a policy naming a missing SA" "$dir/missing_sa.conf" 'missing_sa.conf:[0-9]+: policies\[0\]\.sa: "no-such-sa" names no SA'

sed 's/workers = \[1\]/workers = [4096]/' "$example" >"$dir/bad_range.conf"
expect_refusal "an lcore out of range" "$dir/bad_range.conf" 'bad_range.conf:[0-9]+: dataplane.workers\[0\]: 4096 is not an lcore number'

sed "s/workers = \[1\]/workers = [$(nproc)]/" "$example" >"$dir/missing_lcore.conf"
expect_refusal "a worker lcore this machine lacks" "$dir/missing_lcore.conf" "missing_lcore.conf:[0-9]+: dataplane.workers: lcore $(nproc) does not exist"

sed 's/iface=g1in/iface=rp-missing-if/' "$example" >"$dir/bad_port.conf"
expect_refusal "an unusable port" "$dir/bad_port.conf" 'interface inside: device "net_af_packet0,iface=rp-missing-if" did not come up'

printf 'dataplane = { burst = 32 \n workers = [1,; };\n' >"$dir/syntax.conf"
expect_refusal "a syntax error" "$dir/syntax.conf" "syntax.conf:2: syntax error"

expect_refusal "a missing file" "$dir/none.conf" "none.conf: cannot read the file"

if ((failures)); then
  echo "rampartd_startup_test: $failures failure(s)"
  exit 1
fi
echo "rampartd_startup_test: all checks passed"
