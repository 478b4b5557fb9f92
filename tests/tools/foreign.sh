#!/bin/bash
# A SysV segment that is not a shbuf, made with ipcmk under some key: info,
# rm and cat must say so and leave it alone; ls and gc must ignore it.
source "$(dirname "$0")/lib.sh"

grep -qx sysv <("$SHBUF" --backends) || { echo "SKIP: no sysv backend"; exit 0; }

extra_cleanup() {
        [ -n "${shmid:-}" ] && ipcrm -m "$shmid" 2>/dev/null
}

shmid=$(ipcmk -M 4096 -p 0600 | sed -n 's/^Shared memory id: *//p')
[ -n "$shmid" ] || fail "ipcmk did not make a segment"
dec=$(awk -v id="$shmid" '$2 == id { print $1 }' /proc/sysvipc/shm)
[ -n "$dec" ] || fail "segment $shmid not in /proc/sysvipc/shm"
key=$(printf '0x%08x' "$((dec & 0xffffffff))")

expect_fail "info foreign" "$key: not a shbuf" "$SHBUF" info "$key"
expect_fail "rm foreign" "$key: not a shbuf" "$SHBUF" rm "$key"
expect_fail "cat foreign" "$key is not a shbuf" "$SHBUF" cat --key "$key"
# Keys with the top bit set (ipcmk picks them half the time) are ordinary keys.
expect_fail "create on a taken key" "key $key is taken" "$SHBUF" cat --create --backend sysv --key "$key" </dev/null
"$SHBUF" ls -n -r -o KEY | grep -qix "$key" && fail "ls lists the foreign segment"
"$SHBUF" gc --dry-run | grep -qi "$key" && fail "gc would remove the foreign segment"
ipcs -m -i "$shmid" >/dev/null 2>&1 || fail "the foreign segment was removed"
[ "$(awk -v id="$shmid" '$2 == id { print $1 }' /proc/sysvipc/shm)" = "$dec" ] || fail "the segment changed"

ipcrm -m "$shmid" || fail "ipcrm"
shmid=
true
