"""The HIL rig: a QEMU guest with mac80211_hwsim radios, hostapd, wpa_supplicant and a monitor radio.

Host side: `guest_build` (kernel and initramfs from Debian packages, cached in hil_tests/.build/),
`guest` (QEMU and its command channel), `regulatory`, `hwsim_ap`, `air_capture`, `figures`, `target`.
Guest side (stdlib only, run by the guest's Python): `guest_agent`, `guest_radio_ops`, `short_cac_crda`.
"""
