#!/bin/sh
# After installing the deb: a "kiosk" user to run the app, its data folder, and the boot-to-kiosk unit.
set -e
if ! id kiosk >/dev/null 2>&1; then
  useradd --system --create-home --shell /usr/sbin/nologin --groups lp,dialout kiosk || true
fi
install -d -m 0700 -o kiosk -g kiosk /var/lib/finekiosk
if command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
  # Enabled on purpose by the operator: `systemctl enable --now finekiosk` makes the machine a kiosk.
fi
