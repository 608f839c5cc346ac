"""Hardware-in-the-loop suite: recorded radar and interference replayed against emulated radios.

rig/ builds and boots a QEMU guest (Debian kernel, mac80211_hwsim, hostapd, wpa_supplicant, a monitor
radio) and measures what happens on air; pulses/ holds the rrm-pulse-trace format, the waveform
generator and the emulated radio's radar pattern detector. The tests carry the ``hil`` marker;
`rrm hil run --target hwsim` runs them and writes the figures report.
"""
