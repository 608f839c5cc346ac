"""Southbound drivers: nl80211 + hostapd, NETCONF, SNMP, and the simulated radio world."""
