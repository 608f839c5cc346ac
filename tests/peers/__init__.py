"""Real protocol peers (hostapd, netconfd, snmpsim, snmpd, PostgreSQL) started by the tests on loopback."""
