#!/bin/sh
# systemd_units_test.sh: `systemd-analyze verify` on packaging/systemd/*.service.
#
# verify wants every ExecStart= binary to exist, so it runs on copies of the
# units whose /usr/bin/finsam-* paths name the binaries of this build. It
# also checks what the units must say (Type=notify, the hardening the docs
# promise) so that a unit edited into something weaker fails here.
#
# Usage: systemd_units_test.sh SRC_DIR BIN_DIR
# Exit 0 ok, 1 failed, 77 skipped (no systemd-analyze; ctest SKIP_RETURN_CODE).
set -u
src=${1:?usage: systemd_units_test.sh SRC_DIR BIN_DIR}
bin=${2:?usage: systemd_units_test.sh SRC_DIR BIN_DIR}

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze not found (install systemd to verify the units)"
    exit 77
fi

tmp=$(mktemp -d /tmp/finsam-units-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0

for unit in finsam-collector.service finsam-agent.service; do
    in="$src/packaging/systemd/$unit"
    sed -e "s|/usr/bin/finsam-collector|$bin/finsam-collector|g" \
        -e "s|/usr/bin/finsam-agent|$bin/finsam-agent|g" "$in" >"$tmp/$unit"
    # verify prints warnings about the units it loads (ours and, in a
    # container, some of the host's); only lines naming ours count.
    out=$(cd "$tmp" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/$unit" 2>&1)
    rc=$?
    ours=$(printf '%s\n' "$out" | grep -F "$unit" || true)
    if [ $rc -ne 0 ] || [ -n "$ours" ]; then
        echo "FAIL $unit: systemd-analyze verify (exit $rc):"
        printf '%s\n' "$out"
        fail=1
    else
        echo "ok   $unit: systemd-analyze verify"
    fi
    # The exposure score (0 best .. 10 worst) stays "OK" (at most 2.0).
    if systemd-analyze security --offline=yes --threshold=20 "$tmp/$unit" >"$tmp/security" 2>&1; then
        echo "ok   $unit: $(grep -o 'Overall exposure level.*' "$tmp/security")"
    else
        echo "FAIL $unit: systemd-analyze security --threshold=20:"
        cat "$tmp/security"
        fail=1
    fi
    for want in Type=notify Restart=on-failure User=finsam Group=finsam \
        ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes ProtectHome=yes PrivateDevices=yes \
        ProtectKernelTunables=yes ProtectKernelModules=yes ProtectControlGroups=yes \
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" SystemCallFilter=@system-service \
        SystemCallArchitectures=native CapabilityBoundingSet= LockPersonality=yes \
        MemoryDenyWriteExecute=yes UMask=0027; do
        if ! grep -qx -- "$want" "$in"; then
            echo "FAIL $unit: no line '$want'"
            fail=1
        fi
    done
done
grep -qx "ExecStart=/usr/bin/finsam-collector --config /etc/finsam/collector.ini run" \
    "$src/packaging/systemd/finsam-collector.service" || { echo "FAIL collector ExecStart"; fail=1; }
grep -qx "ExecReload=/bin/kill -HUP \$MAINPID" "$src/packaging/systemd/finsam-collector.service" ||
    { echo "FAIL collector ExecReload"; fail=1; }
grep -qx "ReadWritePaths=/var/lib/finsam" "$src/packaging/systemd/finsam-collector.service" ||
    { echo "FAIL collector ReadWritePaths"; fail=1; }
grep -qx "ReadWritePaths=/var/lib/finsam-agent /var/spool/finsam-agent" "$src/packaging/systemd/finsam-agent.service" &&
    grep -q -- "--spool /var/spool/finsam-agent" "$src/packaging/systemd/finsam-agent.service" &&
    grep -qx "SupplementaryGroups=finsam-spool" "$src/packaging/systemd/finsam-agent.service" ||
    { echo "FAIL agent ReadWritePaths, --spool or SupplementaryGroups (the drop folder /var/spool/finsam-agent)"; fail=1; }

# The agent's ExecStart must use options the agent has.
for opt in --config --spool; do
    "$bin/finsam-agent" --help 2>/dev/null | grep -q -- "$opt" ||
        { echo "FAIL finsam-agent --help has no $opt"; fail=1; }
done
"$bin/finsam-collector" --help 2>/dev/null | grep -q -- --config ||
    { echo "FAIL finsam-collector --help has no --config"; fail=1; }

[ $fail -eq 0 ] && echo "systemd units: ok"
exit $fail
