#!/bin/sh
# camtrap first boot, written to the SD card's boot partition by
# `python -m tools.deploy --sd-card BOOT` and run once from cmdline.txt
# (systemd.run=/boot/firmware/camtrap/firstboot.sh), early in boot, before the network is up.
#
# It only arranges the real install: a one-shot camtrap-install.service that runs
# camtrap/install.sh on the next boot once the network is up (apt may need it; pip uses the
# wheels in camtrap/wheels). Then it removes its hook from cmdline.txt, runs Raspberry Pi
# Imager's firstrun.sh if deploy chained one, and the kernel command line reboots the Pi.
set -eu
BOOT=/boot/firmware
[ -d "$BOOT/camtrap" ] || BOOT=/boot

# The config may hold secrets and the boot partition is FAT (no permissions: anyone who mounts
# the card reads it). Move it to root's private directory first, and delete it there.
if [ -f "$BOOT/camtrap/config.toml" ]; then
    install -d -m 0700 /root/camtrap-install
    install -m 0600 "$BOOT/camtrap/config.toml" /root/camtrap-install/config.toml
    rm -f "$BOOT/camtrap/config.toml"
    sync
fi

cat > /etc/systemd/system/camtrap-install.service <<EOF
[Unit]
Description=camtrap one-time install from the SD card (see docs/field.md)
Wants=network-online.target
After=network-online.target time-sync.target
ConditionPathExists=!/var/lib/camtrap/.installed

[Service]
Type=oneshot
ExecStart=/bin/sh $BOOT/camtrap/install.sh
StandardOutput=journal+console
TimeoutStartSec=1800

[Install]
WantedBy=multi-user.target
EOF
mkdir -p /etc/systemd/system/multi-user.target.wants
ln -sf /etc/systemd/system/camtrap-install.service \
    /etc/systemd/system/multi-user.target.wants/camtrap-install.service

sed -i -e 's| systemd.run=[^ ]*camtrap/firstboot.sh||' \
    -e 's| systemd.run_success_action=reboot||' \
    -e 's| systemd.unit=kernel-command-line.target||' "$BOOT/cmdline.txt"

if [ -f "$BOOT/camtrap/chain" ]; then
    chain=$(cat "$BOOT/camtrap/chain")
    rm -f "$BOOT/camtrap/chain"
    if [ -f "$chain" ]; then
        sh "$chain" || echo "camtrap firstboot: $chain failed" >&2
    fi
fi
exit 0
