"""Hardware-in-the-loop suite: recorded radar and interference replayed against emulated radios.

The qemu + mac80211_hwsim rig and its tests arrive with the HIL issue; until then this package
holds nothing and the `hil` marker selects no tests.
"""
