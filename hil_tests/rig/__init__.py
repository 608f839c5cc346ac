"""The HIL rig: a QEMU guest with mac80211_hwsim radios, hostapd, wpa_supplicant and a monitor radio.

Host side: `guest_build` (kernel and initramfs from Debian packages, cached in hil_tests/.build/),
`guest` (QEMU and its command channel), `regulatory`, `hwsim_ap`, `air_capture`, `figures`, `target`,
`tcp_relay` (QEMU's guestfwd relay, with partitions), `guest_python` (product code in the guest),
`rrm_stack` (`rrm controller` on the host, `rrm agent` in the guest), `radar_replay` (pulse traces
through the PRI detector into hwsim's radar).
`pcap_replay` (802.11 captures validated and rewritten for another channel), `neighbour_replay` and
`iw_scan` (a replayed neighbour BSS on the AP's channel, and the AP's own scan of it).
Guest side (stdlib only, run by the guest's Python): `guest_agent`, `guest_radio_ops`, `short_cac_crda`.
Lab target (`--target lab:FILE`): `lab_inventory` (the strict inventory), `lab_ssh` (the rig agent over
SSH, `lab_rig_agent` on the AP host, stdlib only), `lab_bench` (the `DfsBench` on a lab AP), `rig_channel`
(what benches need of either carrier), `guest_sshd` (the proof: sshd in the guest, an inventory for it).
Guest side (the host's virtualenv, product code): `guest_driver_probe`, `guest_rrm`, `guest_pcap_replay`.
"""
